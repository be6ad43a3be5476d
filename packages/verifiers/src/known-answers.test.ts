import { describe, expect, it } from 'vitest';
import publicVectors from './fixtures/public-vectors.json' with { type: 'json' };
import { verifyWebhook } from './index.js';

interface Vector {
  provider: string;
  secret: string;
  headers: Record<string, string>;
  body: string;
  now?: number;
  toleranceSeconds?: number;
  expected: 'valid' | 'invalid';
  url?: string;
}

// Published vectors first (shared/vectors/public.json, with their sources), then vectors computed
// independently with `openssl dgst -sha256 -hmac` from each provider's documented algorithm.
const derived: Vector[] = [
  {
    provider: 'stripe',
    secret: 'whsec_test_secret',
    headers: { 'Stripe-Signature': 't=1492774577,v1=88a022085c6bdb887b02cb26ff76dd681234d9675c0f22844059f55552a8883a' },
    body: '{"id":"evt_test_webhook","object":"event"}',
    now: 1492774577,
    expected: 'valid',
  },
  {
    // The example of the Standard Webhooks specification.
    provider: 'standard-webhooks',
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    headers: {
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    },
    body: '{"test": 2432232314}',
    now: 1614265330,
    expected: 'valid',
  },
  {
    provider: 'svix',
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    headers: {
      'svix-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'svix-timestamp': '1614265330',
      'svix-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    },
    body: '{"test": 2432232314}',
    now: 1614265330,
    expected: 'valid',
  },
  {
    provider: 'zoom',
    secret: 'zoom_secret',
    headers: {
      'x-zm-request-timestamp': '1658940994',
      'x-zm-signature': 'v0=5d9845b42d352da66f83b3d99d7db81c4cf3a4fdc3b96766e9a4b3aeee6756d6',
    },
    body: '{"event":"meeting.started","payload":{"object":{"id":"1"}}}',
    now: 1658940994,
    expected: 'valid',
  },
  {
    provider: 'shopify',
    secret: 'hush',
    headers: { 'X-Shopify-Hmac-Sha256': 'ljDWDCGb1C1kZ5eJKB/g+fLAJMjASvlGaUU9tZ6bIWM=' },
    body: '{"id":1,"title":"Shirt"}',
    expected: 'valid',
  },
  {
    provider: 'notion',
    secret: 'secret_abc123',
    headers: { 'X-Notion-Signature': 'sha256=be3daca2cfaaa9b0209ce67a78667753c25e7bf5d649c4f1a0b783a99c0f42bc' },
    body: '{"id":"evt-1","type":"page.created"}',
    expected: 'valid',
  },
  {
    provider: 'salesforce',
    secret: 'sf_secret',
    headers: {
      'X-Salesforce-Event-Signature': 'sha256=4027e20d0abf37b7b576934841c0cb8dbba7c735f621daf90694df9f502c995a',
    },
    body: '{"action":"created","sobject":{"name":"Contact","fields":{"Id":"003xx000004TMM"}}}',
    expected: 'valid',
  },
  {
    provider: 'salesforce-datacloud',
    secret: 'dc_secret',
    headers: { 'x-signature': 'zxIEi9pPqlX/6AtbOatCGf25ST6G6Dk7sxqjWmcUJu8=' },
    body: '{"events":[]}',
    expected: 'valid',
  },
  {
    provider: 'linear',
    secret: 'lin_wh_secret',
    headers: { 'Linear-Signature': '91e919dc0fd99df1cae12efef1ca08b082cfa523f101b572ec14ed98863fdf35' },
    body: '{"action":"create","type":"Issue","webhookTimestamp":1700000000000}',
    now: 1700000000,
    expected: 'valid',
  },
];

const vectors: Vector[] = [...(publicVectors as unknown as Vector[]), ...derived];

describe('known-answer vectors', () => {
  it.each(vectors.map((v) => [v.provider, v] as const))(
    'verifyWebhook(%s, vector) matches the published answer',
    async (_, v) => {
      const result = await verifyWebhook(
        v.provider,
        { headers: v.headers, body: v.body, ...(v.url ? { url: v.url } : {}) },
        {
          secrets: [v.secret],
          ...(v.now !== undefined ? { now: v.now * 1000 } : {}),
          ...(v.toleranceSeconds !== undefined ? { toleranceSeconds: v.toleranceSeconds } : {}),
        },
      );
      expect(result.ok).toBe(v.expected === 'valid');
    },
  );

  it.each(vectors.map((v) => [v.provider, v] as const))(
    'verifyWebhook(%s, vector) rejects the vector under another secret',
    async (_, v) => {
      const result = await verifyWebhook(
        v.provider,
        { headers: v.headers, body: v.body },
        { secrets: [`${v.secret}x`], ...(v.now !== undefined ? { now: v.now * 1000 } : {}) },
      );
      expect(result).toMatchObject({ ok: false, reason: 'signature_mismatch' });
    },
  );
});
