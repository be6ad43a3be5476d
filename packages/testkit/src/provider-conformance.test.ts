import { defineProvider, type WebhookProvider } from '@webhooks/core';
import { parseWebhook } from '@webhooks/parsers';
import {
  handshakeResponse,
  hasHandshake,
  signGitHub,
  signHubSpotV3,
  signShopify,
  signSlack,
  signStandardWebhooks,
  signStripe,
  verifyWebhook,
} from '@webhooks/verifiers';
import { runProviderConformance } from './provider-conformance.js';

// Built the way @webhooks/service builds its built-ins, so the kit is proved on real providers.
function builtin(id: string): WebhookProvider {
  return defineProvider({
    id,
    verify: (request, options) => verifyWebhook(id, request, options),
    parse: (request, options) => parseWebhook(id, request, options),
    ...(hasHandshake(id) ? { handshake: (request, options) => handshakeResponse(id, request, options) } : {}),
  });
}

const pretty = (value: unknown): string => JSON.stringify(value, null, 2);
const seconds = (ms: number): number => Math.floor(ms / 1000);

runProviderConformance(builtin('github'), {
  secrets: ['It is a Secret to Everybody', 'second-github-secret'],
  samples: [
    pretty({ action: 'opened', issue: { number: 123, id: 1234567, title: 'Login fails' }, repository: { id: 1 } }),
    pretty({ action: 'opened', pull_request: { number: 7, id: 99, title: 'Fix login' }, repository: { id: 1 } }),
  ],
  sign: ({ body, secret }) => {
    const event = Buffer.from(body).toString('utf8').includes('"pull_request"') ? 'pull_request' : 'issues';
    return {
      headers: signGitHub({ body, secret, event, deliveryId: '72d3162e-cc78-11e3-81ab-4c9367dc0958' }),
      body,
    };
  },
  signatureHeader: 'x-hub-signature-256',
  malformedSignature: 'sha1=7d38cdd689735b008b3c702edd92eea23791c5f6',
  unprovenHeaders: ['x-github-delivery', 'x-github-event'],
  unparseable: ['[]'],
});

runProviderConformance(builtin('stripe'), {
  secrets: ['whsec_test_secret_one', 'whsec_test_secret_two'],
  samples: [
    pretty({
      id: 'evt_1NG8Du2eZvKYlo2CUI79vXWy',
      object: 'event',
      type: 'customer.created',
      created: 1764331200,
      data: { object: { id: 'cus_9s6XKzkNRiz8i3', object: 'customer' } },
    }),
    pretty({
      id: 'evt_1NG8Du2eZvKYlo2CUI79vXWz',
      object: 'event',
      type: 'invoice.paid',
      created: 1764331200,
      data: { object: { id: 'in_1MtHbELkdIwHu7ixl4OzzPMv', object: 'invoice' } },
    }),
  ],
  sign: ({ body, secret, nowMs }) => ({ headers: signStripe({ body, secret, timestamp: seconds(nowMs) }), body }),
  signatureHeader: 'stripe-signature',
  malformedSignature: 'v1=,t=',
  freshness: { toleranceSeconds: 300 },
});

runProviderConformance(builtin('slack'), {
  secrets: ['8f742231b10e8888abcd99yyyzzz85a5', '0123456789abcdef0123456789abcdef'],
  samples: [
    pretty({
      type: 'event_callback',
      team_id: 'T123',
      api_app_id: 'A123',
      event: { type: 'message', channel: 'C123', user: 'U123', ts: '1234567890.000001', text: 'hi' },
      event_id: 'Ev123',
      event_time: 1234567890,
    }),
  ],
  sign: ({ body, secret, nowMs }) => ({ headers: signSlack({ body, secret, timestamp: seconds(nowMs) }), body }),
  signatureHeader: 'x-slack-signature',
  malformedSignature: 'v1=abc',
  freshness: { toleranceSeconds: 300 },
});

runProviderConformance(builtin('standard-webhooks'), {
  secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'whsec_c2Vjb25kLXN0YW5kYXJkLXNlY3JldA=='],
  samples: [
    pretty({
      type: 'user.created',
      timestamp: '2022-11-03T20:26:10.344522Z',
      data: { id: '1f81eb52-5198-4599-803e-771906343485' },
    }),
  ],
  sign: ({ body, secret, nowMs }) => ({
    headers: signStandardWebhooks({ body, secret, id: 'msg_p5jXN8AQM9LWM0D4loKWxJek', timestamp: seconds(nowMs) }),
    body,
  }),
  signatureHeader: 'webhook-signature',
  malformedSignature: 'v1,???',
  freshness: { toleranceSeconds: 300 },
});

runProviderConformance(builtin('shopify'), {
  secrets: ['shpss_0123456789abcdef0123456789abcdef', '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'],
  samples: [
    pretty({
      admin_graphql_api_id: 'gid://shopify/Product/8032119674',
      id: 8032119674,
      title: 'Example T-Shirt',
      updated_at: '2026-11-28T12:00:00-05:00',
    }),
  ],
  sign: ({ body, secret }) => ({
    headers: signShopify({ body, secret, webhookId: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043', topic: 'products/create' }),
    body,
  }),
  signatureHeader: 'x-shopify-hmac-sha256',
  malformedSignature: 'sha256=abc',
  unprovenHeaders: ['x-shopify-webhook-id', 'x-shopify-topic'],
});

const HUBSPOT_URL = 'https://hooks.example.com/webhooks/reg_hubspot';
runProviderConformance(builtin('hubspot'), {
  secrets: ['yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy', 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz'],
  samples: [
    pretty([
      {
        eventId: 1,
        subscriptionId: 12345,
        portalId: 62515,
        occurredAt: 1764331200000,
        subscriptionType: 'contact.creation',
        objectId: 123,
      },
      {
        eventId: 2,
        subscriptionId: 12345,
        portalId: 62515,
        occurredAt: 1764331200000,
        subscriptionType: 'contact.deletion',
        objectId: 124,
      },
    ]),
  ],
  // HubSpot's timestamp is in milliseconds; the tolerance stays in seconds.
  sign: ({ body, secret, nowMs }) => ({
    headers: signHubSpotV3({ url: HUBSPOT_URL, body, secret, timestamp: nowMs }),
    body,
    url: HUBSPOT_URL,
    method: 'POST',
  }),
  signatureHeader: 'x-hubspot-signature-v3',
  malformedSignature: 'v3=abc',
  freshness: { toleranceSeconds: 300 },
});

// Fixed vectors alone (a captured delivery, no signing function) run the same battery, bar rotation.
const capturedBody = pretty({
  action: 'closed',
  issue: { number: 9, id: 7654321, title: 'Done' },
  repository: { id: 1 },
});
runProviderConformance(builtin('github'), {
  secrets: ['captured-delivery-secret', 'some-other-secret'],
  fixed: [
    {
      name: 'a captured issues delivery',
      request: {
        headers: signGitHub({
          body: capturedBody,
          secret: 'captured-delivery-secret',
          event: 'issues',
          deliveryId: 'd2a1c3f0-cc78-11e3-81ab-4c9367dc0958',
        }),
        body: capturedBody,
      },
      nowMs: Date.UTC(2026, 0, 1),
    },
  ],
  signatureHeader: 'x-hub-signature-256',
  malformedSignature: 'sha1=7d38cdd689735b008b3c702edd92eea23791c5f6',
  unprovenHeaders: ['x-github-delivery', 'x-github-event'],
});
