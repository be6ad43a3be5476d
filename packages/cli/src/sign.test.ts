import { generateKeyPairSync } from 'node:crypto';
import { parseWebhook } from '@webhooks/parsers';
import { verifyWebhook } from '@webhooks/verifiers';
import { describe, expect, it } from 'vitest';
import { sampleEvents } from './samples.js';
import { SIGNABLE_PROVIDERS, signDelivery, UsageError } from './sign.js';

const URL_ = 'https://hooks.example.com/webhooks/wh_test';
const ORG_ID = '00D5g000004ABCDEAA';
const SECRETS: Record<string, string> = {
  notion: 'secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl',
  'standard-webhooks': 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  svix: 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD',
};
const secretOf = (provider: string) => SECRETS[provider] ?? 'a-provider-issued-secret-0123';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const GOOGLE = {
  kid: 'cli-test-key',
  serviceAccountEmail: 'pubsub-push@example-project.iam.gserviceaccount.com',
  jwks: { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'cli-test-key', alg: 'RS256', use: 'sig' }] },
  pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
};

const cases = SIGNABLE_PROVIDERS.flatMap((provider) => sampleEvents(provider).map((event) => ({ provider, event })));

describe('signDelivery(provider, ...)', () => {
  it('knows every provider of PROVIDERS.md', () => {
    expect([...SIGNABLE_PROVIDERS].sort()).toEqual(
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
  });

  it.each(cases)('signs a $provider $event sample that verifies and parses', async ({ provider, event }) => {
    const secret = secretOf(provider);
    const delivery = await signDelivery({
      provider,
      event,
      secret,
      url: URL_,
      salesforceOrganizationId: ORG_ID,
      google: { privateKey: GOOGLE.pem, kid: GOOGLE.kid, serviceAccountEmail: GOOGLE.serviceAccountEmail },
    });
    const request = { headers: delivery.headers, body: delivery.body, url: delivery.url ?? URL_, method: 'POST' };
    const verified = await verifyWebhook(provider, request, {
      secrets: [secret],
      salesforceOrganizationId: ORG_ID,
      google: { serviceAccountEmail: GOOGLE.serviceAccountEmail, jwks: GOOGLE.jwks },
    });
    expect(verified).toEqual({ ok: true, secretIndex: 0 });
    if (provider === 'google-calendar' && event === 'sync') return; // a handshake, not an event
    const parsed = parseWebhook(provider, request);
    const events = Array.isArray(parsed) ? parsed : [parsed];
    expect(events.length).toBeGreaterThan(0);
    for (const parsedEvent of events) {
      expect(parsedEvent.providerId).toBe(provider);
      expect(parsedEvent.entityId.length).toBeGreaterThan(0);
    }
  });

  it('mints a fresh delivery id and timestamp for every delivery', async () => {
    const first = await signDelivery({ provider: 'github', secret: 's3cret-s3cret', nowMs: 1_000_000_000_000 });
    const second = await signDelivery({ provider: 'github', secret: 's3cret-s3cret', nowMs: 1_000_000_000_000 });
    expect(first.headers['x-github-delivery']).not.toBe(second.headers['x-github-delivery']);
    const stripe = await signDelivery({ provider: 'stripe', secret: 'whsec_x', nowMs: 1_764_331_200_000 });
    expect(stripe.headers['stripe-signature']).toMatch(/^t=1764331200,v1=[0-9a-f]{64}$/);
  });

  it('signs a given body byte for byte', async () => {
    const body = '{"action":"opened","issue":{"id":1,"number":1}}';
    const delivery = await signDelivery({ provider: 'github', secret: 's3cret-s3cret', body, event: 'issues' });
    expect(Buffer.from(delivery.body).toString()).toBe(body);
  });

  it('binds a JSON body to the Twilio URL through bodySHA256', async () => {
    const delivery = await signDelivery({ provider: 'twilio', secret: 'token-0123456789', url: URL_, body: '{"a":1}' });
    expect(delivery.url).toMatch(/\?bodySHA256=[0-9a-f]{64}$/);
    expect(delivery.headers['content-type']).toBe('application/json');
  });

  it('fails verification once tampered', async () => {
    const secret = 'a-provider-issued-secret-0123';
    const delivery = await signDelivery({ provider: 'slack', secret, tamper: true });
    const result = await verifyWebhook(
      'slack',
      { headers: delivery.headers, body: delivery.body },
      { secrets: [secret] },
    );
    expect(result).toMatchObject({ ok: false, reason: 'signature_mismatch' });
  });

  it.each([
    [{ provider: 'nope', secret: 'x' }, /Unknown provider 'nope'/],
    [{ provider: 'github' }, /github needs --secret/],
    [{ provider: 'github', secret: 'x', event: 'star' }, /Unknown event 'star' for github/],
    [{ provider: 'twilio', secret: 'x' }, /twilio needs --url/],
    [{ provider: 'hubspot', secret: 'x' }, /hubspot needs --url/],
    [{ provider: 'salesforce-outbound' }, /needs --org-id/],
    [
      { provider: 'google', url: URL_ },
      /google needs --private-key <pem file> --kid <key id> --service-account <email>/,
    ],
    [{ provider: 'msgraph', secret: 'x', tamper: true }, /proof does not cover the body/],
  ])('refuses %j with a usage error', async (options, message) => {
    const error = await signDelivery(options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect(String(error)).toMatch(message);
  });
});
