import { describe, expect, it } from 'vitest';
import { signGitHub } from './github.js';
import { handshakeResponse, isSupportedProvider, PROVIDER_IDS, VerifierUsageError, verifyWebhook } from './index.js';

const body = '{"zen":"Design for failure."}';

describe('verifyWebhook', () => {
  it('returns unsupported_provider for an unknown provider id', async () => {
    for (const provider of ['gitlab', '__proto__', 'constructor', 'toString', '', 'GITHUB']) {
      expect(await verifyWebhook(provider, { headers: {}, body }, { secrets: ['s'] })).toMatchObject({
        ok: false,
        reason: 'unsupported_provider',
      });
    }
  });

  it('throws a TypeError for misuse, never for bad input', async () => {
    const bad: unknown[][] = [
      [1, { headers: {}, body }, { secrets: [] }],
      ['github', null, { secrets: [] }],
      ['github', { headers: null, body }, { secrets: [] }],
      ['github', { headers: {}, body: { parsed: true } }, { secrets: [] }],
      ['github', { headers: {}, body }, null],
      ['github', { headers: {}, body }, { secrets: 'one' }],
      ['github', { headers: {}, body }, { secrets: [1] }],
      ['github', { headers: {}, body }, { secrets: [], now: Number.NaN }],
      ['github', { headers: {}, body }, { secrets: [], toleranceSeconds: -1 }],
    ];
    for (const args of bad) {
      await expect((verifyWebhook as (...a: unknown[]) => Promise<unknown>)(...args)).rejects.toBeInstanceOf(TypeError);
    }
    await expect(
      verifyWebhook('github', { headers: {}, body }, { secrets: [1 as unknown as string] }),
    ).rejects.toBeInstanceOf(VerifierUsageError);
  });

  it("skips empty secrets but keeps the caller's indices", async () => {
    const headers = signGitHub({ body, secret: 'real' });
    expect(await verifyWebhook('github', { headers, body }, { secrets: ['', 'real'] })).toEqual({
      ok: true,
      secretIndex: 1,
    });
  });

  it('lists every provider of PROVIDERS.md', () => {
    expect([...PROVIDER_IDS].sort()).toEqual(
      [
        'github',
        'google',
        'google-calendar',
        'hubspot',
        'linear',
        'msgraph',
        'notion',
        'salesforce',
        'salesforce-datacloud',
        'salesforce-outbound',
        'shopify',
        'slack',
        'standard-webhooks',
        'stripe',
        'svix',
        'twilio',
        'zoom',
      ].sort(),
    );
    expect(isSupportedProvider('github')).toBe(true);
    expect(isSupportedProvider('hasOwnProperty')).toBe(false);
  });
});

describe('handshakeResponse', () => {
  it('returns null for providers without a handshake and for ordinary events', async () => {
    const headers = signGitHub({ body, secret: 's' });
    expect(await handshakeResponse('github', { headers, body }, { secrets: ['s'] })).toBeNull();
    expect(await handshakeResponse('nope', { headers, body }, { secrets: ['s'] })).toBeNull();
  });
});
