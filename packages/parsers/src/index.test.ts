import { WebhookError } from '@webhooks/core';
import { describe, expect, it } from 'vitest';
import * as parsers from './index.js';
import { PARSER_PROVIDER_IDS, parseWebhook } from './index.js';

describe('parseWebhook', () => {
  it('PARSER_PROVIDER_IDS lists every provider of PROVIDERS.md', () => {
    expect([...PARSER_PROVIDER_IDS].sort()).toStrictEqual(
      [
        'github',
        'slack',
        'notion',
        'salesforce',
        'salesforce-outbound',
        'salesforce-datacloud',
        'google',
        'google-calendar',
        'stripe',
        'standard-webhooks',
        'svix',
        'shopify',
        'twilio',
        'hubspot',
        'linear',
        'zoom',
        'msgraph',
      ].sort(),
    );
    expect(Object.isFrozen(PARSER_PROVIDER_IDS)).toBe(true);
  });

  it('index exports one parse function per provider', () => {
    const names = Object.keys(parsers).filter((name) => /^parse[A-Z]/.test(name) && name !== 'parseWebhook');
    expect(names).toHaveLength(17);
    for (const name of names) expect(typeof (parsers as Record<string, unknown>)[name]).toBe('function');
  });

  it.each(['unknown', 'GitHub', '', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'])(
    "parseWebhook('%s') throws WebhookError unsupported_provider",
    (provider) => {
      let error: unknown;
      try {
        parseWebhook(provider, { headers: {}, body: '{}' });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(WebhookError);
      expect(error).toMatchObject({ code: 'unsupported_provider', status: 400 });
    },
  );

  it('parseWebhook(non-string provider) throws unsupported_provider', () => {
    expect(() => parseWebhook(42 as unknown as string, { headers: {}, body: '{}' })).toThrowError(
      expect.objectContaining({ code: 'unsupported_provider' }),
    );
  });

  it('parseWebhook(invalid JSON) throws a WebhookError whose message holds no payload text', () => {
    const secretish = '{"token":"xoxb-very-secret"';
    try {
      parseWebhook('slack', { headers: {}, body: secretish });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(WebhookError);
      expect((error as WebhookError).message).not.toContain('xoxb');
      expect((error as WebhookError).toJSON()).toStrictEqual({
        error: 'Body is not valid JSON',
        code: 'invalid_payload',
      });
    }
  });

  it('parseWebhook(no payload timestamp, options.now) uses now; without options, the current time', () => {
    const body = '{"action":"created","sobject":{"name":"Contact","fields":{"Id":"003"}}}';
    const fixed = parseWebhook('salesforce', { headers: {}, body }, { now: 1_700_000_000_000 });
    expect(fixed).toHaveProperty('timestamp', new Date(1_700_000_000_000));
    const before = Date.now();
    const live = parseWebhook('salesforce', { headers: {}, body });
    expect((live as parsers.WebhookEvent).timestamp.getTime()).toBeGreaterThanOrEqual(before);
  });
});
