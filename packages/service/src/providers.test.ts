import { generateKeyPairSync } from 'node:crypto';
import type { RegistrationProviderOptions } from '@webhooks/core';
import {
  salesforceOutboundMessage,
  signGitHub,
  signGoogleCalendar,
  signGooglePushToken,
  signHubSpotV3,
  signLinear,
  signMsGraph,
  signNotion,
  signSalesforce,
  signSalesforceDataCloud,
  signShopify,
  signSlack,
  signStandardWebhooks,
  signStripe,
  signSvix,
  signTwilio,
  signZoom,
  twilioJsonUrl,
} from '@webhooks/verifiers';
import { describe, expect, it } from 'vitest';
import { harness } from './test-support.js';

const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);
const seconds = Math.floor(NOW / 1000);
const ORG_ID = '00D5g000004ABCDEAA';
const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'test-key', alg: 'RS256', use: 'sig' };

interface SignedRequest {
  headers: Record<string, string>;
  body: string;
  url?: string;
}

interface ProviderCase {
  provider: string;
  /** A provider-issued secret, or undefined to use the generated one. */
  secret?: string;
  providerOptions?: RegistrationProviderOptions;
  sign(secret: string, url: string): Promise<SignedRequest> | SignedRequest;
  expected: { eventType: string; entityId: string; events?: number };
}

const json = (value: unknown) => JSON.stringify(value);

// One signed delivery per provider, shaped like the provider's own, through the whole service.
const cases: ProviderCase[] = [
  {
    provider: 'github',
    sign: (secret) => {
      const body = json({ action: 'opened', issue: { id: 1234567, number: 123 } });
      return { headers: signGitHub({ body, secret, deliveryId: 'gh-1', event: 'issues' }), body };
    },
    expected: { eventType: 'opened', entityId: '1234567' },
  },
  {
    provider: 'slack',
    secret: '8f742231b10e8888abcd99yyyzzz85a5',
    sign: (secret) => {
      const body = json({
        type: 'event_callback',
        team_id: 'T1',
        event_id: 'Ev1',
        event_time: seconds,
        event: { type: 'message', channel: 'C123', user: 'U123', ts: '1234567890.000001' },
      });
      return { headers: signSlack({ body, secret, timestamp: seconds }), body };
    },
    expected: { eventType: 'message', entityId: '1234567890.000001' },
  },
  {
    provider: 'notion',
    secret: 'secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl',
    sign: (secret) => {
      const body = json({
        id: '367cba44-b6f3-4c92-81e7-6a2e9659efd4',
        timestamp: '2026-11-28T12:00:00.000Z',
        type: 'page.created',
        entity: { id: '153104cd-477e-809d-8dc4-ff2d96ae3090', type: 'page' },
        data: {},
      });
      return { headers: signNotion({ body, secret }), body };
    },
    expected: { eventType: 'created', entityId: '153104cd-477e-809d-8dc4-ff2d96ae3090' },
  },
  {
    provider: 'salesforce',
    sign: (secret) => {
      const body = json({
        action: 'created',
        sobject: { name: 'Contact', fields: { Id: '003xx000004TMM', FirstName: 'John' } },
      });
      return { headers: signSalesforce({ body, secret }), body };
    },
    expected: { eventType: 'created', entityId: '003xx000004TMM' },
  },
  {
    provider: 'salesforce-outbound',
    providerOptions: { salesforceOrganizationId: ORG_ID },
    sign: () => ({
      headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' },
      body: salesforceOutboundMessage({
        organizationId: ORG_ID,
        notifications: [
          { id: '04l5g000000ABCDAA4', sObjectType: 'Contact', fields: { Id: '0035g000004XYZAAA2', FirstName: 'Ada' } },
          { id: '04l5g000000ABCEAA4', sObjectType: 'Contact', fields: { Id: '0035g000004XZZAAA2', FirstName: 'Alan' } },
        ],
      }),
    }),
    expected: { eventType: 'updated', entityId: '0035g000004XYZAAA2', events: 2 },
  },
  {
    provider: 'salesforce-datacloud',
    secret: 'datacloud-secret-key',
    sign: (secret) => {
      const body = json({
        creationDateTime: '2026-11-28T12:00:00.000Z',
        count: 1,
        schemas: [],
        events: [
          {
            EventUuid: '5f1c4a3e-0b6f-4d36-9a4e-8f1d2c3b4a5e',
            EventPrompt: 'UPDATE',
            SourceObjectDeveloperName: 'ssot__Individual__dlm',
            PayloadCurrentValue: json({ ssot__Id__c: '003xx000004TMM', ssot__FirstName__c: 'Ada' }),
          },
        ],
      });
      return { headers: signSalesforceDataCloud({ body, secret }), body };
    },
    expected: { eventType: 'updated', entityId: '003xx000004TMM', events: 1 },
  },
  {
    provider: 'google',
    providerOptions: { google: { serviceAccountEmail: 'push@project.iam.gserviceaccount.com', jwks: { keys: [jwk] } } },
    sign: async (_, url) => {
      const token = await signGooglePushToken({
        privateKey,
        kid: 'test-key',
        audience: url,
        email: 'push@project.iam.gserviceaccount.com',
        nowMs: NOW,
      });
      const data = Buffer.from(json({ resourceName: 'people/c1234567', personFields: ['names'] })).toString('base64');
      const body = json({
        message: { data, messageId: '2070443601311540', publishTime: '2026-11-28T12:00:00Z' },
        subscription: 's',
      });
      return { headers: { authorization: `Bearer ${token}` }, body, url };
    },
    expected: { eventType: 'updated', entityId: 'c1234567' },
  },
  {
    provider: 'google-calendar',
    secret: 'calendar-channel-token-1',
    sign: (secret) => ({
      headers: signGoogleCalendar({ secret, resourceState: 'exists', messageNumber: 7 }),
      body: '',
    }),
    expected: { eventType: 'exists', entityId: 'primary' },
  },
  {
    provider: 'stripe',
    secret: 'whsec_test_secret',
    sign: (secret) => {
      const body = json({
        id: 'evt_1NG8Du2eZvKYlo2CUI79vXWy',
        object: 'event',
        type: 'customer.created',
        created: seconds,
        data: { object: { id: 'cus_9s6XKzkNRiz8i3', object: 'customer' } },
      });
      return { headers: signStripe({ body, secret, timestamp: seconds }), body };
    },
    expected: { eventType: 'created', entityId: 'cus_9s6XKzkNRiz8i3' },
  },
  {
    provider: 'standard-webhooks',
    sign: (secret) => {
      const body = json({ type: 'user.created', timestamp: '2026-11-28T12:00:00Z', data: { id: 'user_1' } });
      return { headers: signStandardWebhooks({ body, secret, id: 'msg_1', timestamp: seconds }), body };
    },
    expected: { eventType: 'created', entityId: 'user_1' },
  },
  {
    provider: 'svix',
    secret: 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD',
    sign: (secret) => {
      const body = json({ type: 'invoice.paid', data: { id: 'inv_1' } });
      return { headers: signSvix({ body, secret, id: 'msg_2', timestamp: seconds }), body };
    },
    expected: { eventType: 'paid', entityId: 'inv_1' },
  },
  {
    provider: 'shopify',
    secret: 'shpss_0123456789abcdef0123456789abcdef',
    sign: (secret) => {
      const body = json({
        id: 7880321196742,
        admin_graphql_api_id: 'gid://shopify/Product/7880321196742',
        title: 'Shirt',
      });
      return {
        headers: signShopify({
          body,
          secret,
          webhookId: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
          topic: 'products/create',
        }),
        body,
      };
    },
    expected: { eventType: 'create', entityId: '7880321196742' },
  },
  {
    provider: 'twilio',
    secret: '12345678901234567890123456789012',
    sign: (secret, url) => {
      const body = json({ MessageSid: 'SM1', MessageStatus: 'delivered' });
      const signedUrl = twilioJsonUrl(url, body);
      return { headers: signTwilio({ url: signedUrl, body, secret }), body, url: signedUrl };
    },
    expected: { eventType: 'delivered', entityId: 'SM1' },
  },
  {
    provider: 'hubspot',
    secret: 'hubspot-client-secret',
    sign: (secret, url) => {
      const body = json([
        {
          eventId: 100,
          subscriptionId: 1,
          portalId: 62515,
          occurredAt: NOW,
          subscriptionType: 'contact.creation',
          attemptNumber: 0,
          objectId: 123,
        },
        {
          eventId: 101,
          subscriptionId: 2,
          portalId: 62515,
          occurredAt: NOW,
          subscriptionType: 'deal.deletion',
          attemptNumber: 0,
          objectId: 456,
        },
      ]);
      return { headers: signHubSpotV3({ url, body, secret, timestamp: NOW }), body, url };
    },
    expected: { eventType: 'creation', entityId: '123', events: 2 },
  },
  {
    provider: 'linear',
    secret: 'lin_wh_0123456789abcdef',
    sign: (secret) => {
      const body = json({
        action: 'create',
        type: 'Issue',
        data: { id: 'issue-uuid-1' },
        webhookTimestamp: NOW,
        webhookId: 'wh1',
      });
      return { headers: signLinear({ body, secret, deliveryId: 'lin-delivery-1' }), body };
    },
    expected: { eventType: 'create', entityId: 'issue-uuid-1' },
  },
  {
    provider: 'zoom',
    secret: 'zoom-secret-token',
    sign: (secret) => {
      const body = json({
        event: 'meeting.started',
        event_ts: NOW,
        payload: { account_id: 'a', object: { id: '85746065' } },
      });
      return { headers: signZoom({ body, secret, timestamp: seconds }), body };
    },
    expected: { eventType: 'started', entityId: '85746065' },
  },
  {
    provider: 'msgraph',
    secret: 'graph-client-state-1',
    sign: (secret) => ({
      headers: { 'content-type': 'application/json' },
      body: signMsGraph({
        secret,
        notifications: [
          {
            subscriptionId: 'sub-1',
            changeType: 'updated',
            resource: "Users/u1/Messages('m1')",
            resourceData: { '@odata.type': '#Microsoft.Graph.Message', '@odata.etag': 'W/"1"', id: 'm1' },
          },
        ],
      }),
    }),
    expected: { eventType: 'updated', entityId: 'm1', events: 1 },
  },
];

/** The same delivery with its proof broken in the way that matters for the provider. */
function tamper(provider: string, signed: SignedRequest, secret: string): SignedRequest {
  switch (provider) {
    case 'google':
      return { ...signed, headers: { ...signed.headers, authorization: `${signed.headers.authorization}x` } };
    case 'google-calendar':
      return { ...signed, headers: { ...signed.headers, 'x-goog-channel-token': 'not-the-token' } };
    case 'msgraph':
      return { ...signed, body: signed.body.replace(secret, 'forged-client-state') };
    case 'salesforce-outbound':
      return { ...signed, body: signed.body.replace(ORG_ID, '00D5g000009ZZZZEAA') };
    default:
      return { ...signed, body: `${signed.body} ` };
  }
}

describe('every provider through processWebhookEvent', () => {
  it('covers every built-in provider', () => {
    const h = harness();
    expect(cases.map((c) => c.provider).sort()).toEqual(h.service.providers.ids().sort());
  });

  it.each(cases.map((c) => [c.provider, c] as const))(
    '%s: a signed delivery is accepted, triggers a sync, and its repeat is a duplicate',
    async (_, c) => {
      const h = harness();
      h.clock.ms = NOW;
      const providerOptions = c.providerOptions;
      const { registration } = await h.service.registerWebhook('tenant-1', c.provider, 'conn-1', ['*'], {
        ...(c.secret !== undefined ? { webhookSecret: c.secret } : {}),
        ...(providerOptions !== undefined ? { providerOptions } : {}),
      });
      const signed = await c.sign(registration.webhookSecret, registration.webhookUrl);
      const url = signed.url ?? registration.webhookUrl;
      const result = await h.service.processWebhookEvent(registration.id, signed.headers, signed.body, {
        url,
        method: 'POST',
      });
      expect(result).toMatchObject({
        success: true,
        status: 200,
        eventType: c.expected.eventType,
        entityId: c.expected.entityId,
        syncTriggered: true,
        events: c.expected.events ?? 1,
      });
      expect(h.queue.messages).toHaveLength(c.expected.events ?? 1);
      if (c.provider === 'salesforce-outbound') expect(result.response?.body).toContain('<Ack>true</Ack>');

      const again = await h.service.processWebhookEvent(registration.id, signed.headers, signed.body, {
        url,
        method: 'POST',
      });
      expect(again).toMatchObject({ status: 200, duplicate: true, syncTriggered: false });
      expect(h.queue.messages).toHaveLength(c.expected.events ?? 1);

      const tampered = tamper(c.provider, signed, registration.webhookSecret);
      expect(
        await h.service.processWebhookEvent(registration.id, tampered.headers, tampered.body, { url, method: 'POST' }),
      ).toMatchObject({
        status: 401,
        code: 'invalid_signature',
      });
      expect(h.queue.messages).toHaveLength(c.expected.events ?? 1);

      // What was stored never holds the secret (Graph sends it in the body), and the accepted
      // delivery replays from it: verified again, or trusted where the proof had to be cut out.
      const stored = await h.service.listDeliveries(registration.id, 'tenant-1');
      expect(stored.map((d) => d.outcome).sort()).toEqual(['accepted', 'duplicate', 'rejected']);
      for (const delivery of stored) {
        expect(Buffer.from(delivery.body).toString('utf8')).not.toContain(registration.webhookSecret);
        expect(JSON.stringify(delivery.headers)).not.toContain(registration.webhookSecret);
      }
      const replay = await h.service.replayDelivery(result.deliveryId!, 'tenant-1');
      expect(replay).toMatchObject({ success: true, status: 200, syncTriggered: true });
      expect(h.queue.messages).toHaveLength(2 * (c.expected.events ?? 1));
    },
  );
});

describe('a batch delivery (HubSpot) with an event another request holds', () => {
  it('answers 503 in_progress and keeps none of its own claims; accepted whole once the lease runs out', async () => {
    const hubspot = cases.find((c) => c.provider === 'hubspot')!;
    const h = harness();
    h.clock.ms = NOW;
    const { registration } = await h.service.registerWebhook('tenant-1', 'hubspot', 'conn-1', ['*'], {
      webhookSecret: hubspot.secret!,
    });
    const signed = await hubspot.sign(registration.webhookSecret, registration.webhookUrl);
    const options = { url: signed.url ?? registration.webhookUrl, method: 'POST' };
    const keys = ['id:1:100', 'id:2:101'];
    // The second event is held by a request that died before storing it.
    expect(await h.store.claimDedupeKey(registration.id, keys[1]!, 60_000, new Date(NOW))).toBe('claimed');

    expect(await h.service.processWebhookEvent(registration.id, signed.headers, signed.body, options)).toMatchObject({
      status: 503,
      code: 'in_progress',
      retryAfterSeconds: 5,
    });
    // The first event's claim, taken by that request, was released rather than left to its lease.
    expect(await h.store.claimDedupeKey(registration.id, keys[0]!, 60_000, new Date(NOW))).toBe('claimed');
    await h.store.releaseDedupeKey(registration.id, keys[0]!);
    expect(h.queue.messages).toHaveLength(0);

    h.clock.ms = NOW + 60_000;
    const accepted = await h.service.processWebhookEvent(registration.id, signed.headers, signed.body, options);
    expect(accepted).toMatchObject({ status: 200, duplicate: false, events: 2, syncTriggered: true });
    expect((await h.store.getDelivery(accepted.deliveryId!))?.dedupeKeys).toEqual(keys);
    expect(h.queue.messages).toHaveLength(2);
  });
});
