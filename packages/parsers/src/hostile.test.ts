import { WebhookError, type WebhookEvent } from '@webhooks/core';
import { afterAll, describe, expect, it } from 'vitest';
import { PARSER_PROVIDER_IDS, parseWebhook } from './index.js';

const MB = 1024 * 1024;
const deepArray = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
const deepObject = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
const deepXml = `${'<a>'.repeat(10_000)}${'</a>'.repeat(10_000)}`;

const bodies: [string, string | Uint8Array][] = [
  ['empty body', ''],
  ['whitespace', ' \n\t '],
  ['null', 'null'],
  ['[]', '[]'],
  ['{}', '{}'],
  ['"str"', '"str"'],
  ['a number', '42'],
  ['true', 'true'],
  ['[null]', '[null]'],
  ['[[]]', '[[]]'],
  ['array of 100k nulls', `[${Array(100_000).fill('null').join(',')}]`],
  ['deep array nesting, 10k levels', deepArray],
  ['deep object nesting, 10k levels', deepObject],
  ['deep XML nesting, 10k levels', deepXml],
  ['1 MB of junk', 'a'.repeat(MB)],
  ['a 1 MB JSON string', `"${'a'.repeat(MB)}"`],
  ['1 MB of form data', `payload=${'%7B'.repeat(MB / 3)}`],
  ['invalid UTF-8 bytes', new Uint8Array([0xff, 0xfe, 0xfd])],
  [
    'JSON with an invalid UTF-8 byte',
    new Uint8Array([...new TextEncoder().encode('{"type":"'), 0xc3, 0x28, 0x22, 0x7d]),
  ],
  ['a UTF-8 BOM and {}', new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d])],
  ['a lone surrogate escape', '{"id":"\\ud800","type":"a.b","data":{"id":"\\ud800"}}'],
  ['JSON __proto__', '{"__proto__":{"polluted":true}}'],
  ['JSON constructor.prototype', '{"constructor":{"prototype":{"polluted":true}}}'],
  ['form __proto__[polluted]', '__proto__[polluted]=1&__proto__=1&constructor[prototype][polluted]=1'],
  ['payload with __proto__', `payload=${encodeURIComponent('{"__proto__":{"polluted":true},"type":"block_actions"}')}`],
  ['XML with a DOCTYPE', '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>'],
  ['XML billion laughs', '<!DOCTYPE l [<!ENTITY l0 "ha"><!ENTITY l1 "&l0;&l0;">]><l>&l1;</l>'],
  ['unclosed XML', '<soapenv:Envelope><soapenv:Body>'],
  ['a 2-item HubSpot-like array', '[{"subscriptionType":{},"objectId":[]},{}]'],
  [
    'ids of the wrong types',
    '{"id":{},"type":[],"event":{"type":1},"entity":{"id":null,"type":{}},"data":{"object":{"id":true}}}',
  ],
  ['value items of the wrong types', '{"value":[1,"x",null,[]],"events":[1],"message":{"data":[]}}'],
  ['NaN-like timestamps', '{"type":"a.b","timestamp":1e400,"data":{"id":"x"},"created":-1e300,"event_time":"x"}'],
];

// Headers that take each parser past its first checks, so the bodies reach the deeper code.
const deepHeaders = {
  'x-github-event': 'issues',
  'x-github-delivery': 'd-1',
  'x-shopify-topic': 'products/create',
  'x-shopify-webhook-id': 'w-1',
  'webhook-id': 'msg_1',
  'svix-id': 'msg_1',
  'linear-delivery': 'l-1',
  'content-type': 'application/json',
};

function checkEvent(event: WebhookEvent): void {
  for (const key of ['providerId', 'eventType', 'entityType', 'entityId'] as const) {
    expect(typeof event[key]).toBe('string');
    expect(event[key].length).toBeGreaterThan(0);
  }
  expect(event.data !== null && typeof event.data === 'object' && !Array.isArray(event.data)).toBe(true);
  expect(Number.isNaN(event.timestamp.getTime())).toBe(false);
  if (event.deliveryId !== undefined) expect(typeof event.deliveryId).toBe('string');
}

/** Either events that satisfy the contract, or a deliberate WebhookError (no `cause`: not the safety net). */
function expectOnlyWebhookErrors(provider: string, request: Parameters<typeof parseWebhook>[1]): void {
  let result: WebhookEvent | WebhookEvent[];
  try {
    result = parseWebhook(provider, request);
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookError);
    expect(error).toMatchObject({ code: 'invalid_payload' });
    expect((error as WebhookError).cause).toBeUndefined();
    expect((error as WebhookError).message.length).toBeLessThan(80);
    return;
  }
  for (const event of Array.isArray(result) ? result : [result]) checkEvent(event);
}

describe.each(PARSER_PROVIDER_IDS)('parseWebhook(%s, hostile input)', (provider) => {
  it.each(bodies)('%s only ever throws WebhookError', (_name, body) => {
    expectOnlyWebhookErrors(provider, { headers: {}, body });
    expectOnlyWebhookErrors(provider, { headers: deepHeaders, body });
  });

  it.each([
    ['a null request', null],
    ['a string request', 'body'],
    ['a numeric body', { headers: {}, body: 42 }],
    ['a null body', { headers: {}, body: null }],
    ['an object body', { headers: {}, body: { a: 1 } }],
    ['null headers', { headers: null, body: '{}' }],
    ['array header values of mixed types', { headers: { 'x-github-event': [1, null, 'issues'] }, body: '{}' }],
  ])('%s only ever throws WebhookError', (_name, request) => {
    expectOnlyWebhookErrors(provider, request as unknown as Parameters<typeof parseWebhook>[1]);
  });
});

describe('prototype pollution', () => {
  afterAll(() => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  const proto = '"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}';
  const valid: [string, Record<string, string>, string][] = [
    ['github', { 'x-github-event': 'issues' }, `{${proto},"action":"opened","issue":{${proto},"id":1}}`],
    ['slack', {}, `{${proto},"type":"event_callback","event":{${proto},"type":"message","ts":"1.0"}}`],
    ['notion', {}, `{${proto},"id":"e","type":"page.created","entity":{"id":"p","type":"page"},"data":{${proto}}}`],
    ['salesforce', {}, `{"action":"created","sobject":{"name":"Contact","fields":{${proto},"Id":"003"}}}`],
    [
      'stripe',
      {},
      `{"id":"evt_1","type":"customer.created","data":{"object":{${proto},"id":"cus_1","object":"customer"}}}`,
    ],
    ['hubspot', {}, `[{${proto},"eventId":1,"subscriptionType":"contact.creation","objectId":1}]`],
    [
      'msgraph',
      {},
      `{"value":[{${proto},"subscriptionId":"s","changeType":"created","resource":"me/events/1","resourceData":{"id":"1"},"clientState":"c"}]}`,
    ],
    ['linear', {}, `{"action":"create","type":"Issue","data":{${proto},"id":"1"}}`],
    ['zoom', {}, `{"event":"meeting.started","payload":{"object":{${proto},"id":1}}}`],
    [
      'twilio',
      {},
      '__proto__[polluted]=1&__proto__=x&constructor[prototype][polluted]=1&MessageSid=SM1&MessageStatus=sent',
    ],
    ['slack', {}, '__proto__[polluted]=1&__proto__=x&command=/deploy&trigger_id=t1'],
    [
      'github',
      { 'x-github-event': 'issues' },
      `payload=${encodeURIComponent(`{${proto},"action":"opened","issue":{"id":1}}`)}`,
    ],
  ];

  it.each(valid)(
    'parseWebhook(%s, payload with __proto__ keys) parses and leaves Object.prototype alone',
    (provider, headers, body) => {
      const result = parseWebhook(provider, { headers, body });
      for (const event of Array.isArray(result) ? result : [result]) {
        checkEvent(event);
        expect(Object.getPrototypeOf(event.data)).toBe(Object.prototype);
        expect((event.data as { polluted?: unknown }).polluted).toBeUndefined();
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    },
  );

  it("parseWebhook('twilio', form with __proto__ keys) drops the __proto__ key and keeps the others literally", () => {
    const body = '__proto__[polluted]=1&__proto__=x&MessageSid=SM1&MessageStatus=sent';
    const event = parseWebhook('twilio', { headers: {}, body }) as WebhookEvent;
    expect(Object.hasOwn(event.data, '__proto__')).toBe(false);
    expect(event.data['__proto__[polluted]']).toBe('1');
  });
});
