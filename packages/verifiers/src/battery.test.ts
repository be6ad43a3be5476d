import { readdirSync } from 'node:fs';
import type { HeaderMap, VerifyOptions, VerifyResult, WebhookRequest } from '@webhooks/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NOW_MS, type ProviderCase } from './cases/types.js';
import { PROVIDER_IDS, verifyWebhook } from './index.js';

// Every provider gets the same battery: one valid request, then exactly one thing broken per test.
const caseFiles = readdirSync(new URL('./cases/', import.meta.url)).filter((name) => name !== 'types.ts');
const modules: Array<Record<string, unknown>> = await Promise.all(caseFiles.map((name) => import(`./cases/${name}`)));
const cases: ProviderCase[] = modules
  .flatMap((module) => Object.values(module))
  .filter((value): value is ProviderCase => typeof value === 'object' && value !== null && 'provider' in value)
  .sort((a, b) => a.provider.localeCompare(b.provider));

function options(c: ProviderCase, secrets: string[], overrides: Partial<VerifyOptions> = {}): VerifyOptions {
  return { now: NOW_MS, ...c.options, ...overrides, secrets };
}

function valid(c: ProviderCase, secretIndex = 0): WebhookRequest {
  return c.sign({ body: c.body, secret: c.secrets[secretIndex]!, nowMs: NOW_MS });
}

function withHeader(request: WebhookRequest, name: string, value: string | string[] | undefined): WebhookRequest {
  const headers: HeaderMap = { ...request.headers };
  if (value === undefined) delete headers[name];
  else headers[name] = value;
  return { ...request, headers };
}

function header(request: WebhookRequest, name: string): string {
  const value = request.headers[name];
  if (typeof value !== 'string') throw new Error(`the case did not set ${name}`);
  return value;
}

function flipByte(body: string | Uint8Array, index: number): Buffer {
  const bytes = Buffer.from(typeof body === 'string' ? Buffer.from(body) : body);
  bytes[index % bytes.length] = bytes[index % bytes.length]! ^ 0x01;
  return bytes;
}

function expectFailure(result: VerifyResult, reason: string): void {
  expect(result).toMatchObject({ ok: false, reason });
  if (!result.ok) expect(result.message.length).toBeGreaterThan(0);
}

describe('the battery covers every provider', () => {
  it('has a case for each provider id', () => {
    expect(cases.map((c) => c.provider).sort()).toEqual([...PROVIDER_IDS].sort());
  });
});

describe.each(cases)('verifyWebhook($provider, ...)', (c) => {
  const [first, second] = c.secrets;

  it('returns ok with secretIndex 0 for a valid request', async () => {
    expect(await verifyWebhook(c.provider, valid(c), options(c, [first]))).toEqual({ ok: true, secretIndex: 0 });
  });

  it('accepts the raw body as a Uint8Array', async () => {
    const request = valid(c);
    const bytes = new Uint8Array(Buffer.from(request.body as string));
    expect(await verifyWebhook(c.provider, { ...request, body: bytes }, options(c, [first]))).toMatchObject({
      ok: true,
    });
  });

  it('accepts header names in any case', async () => {
    const request = valid(c);
    const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toUpperCase(), v]));
    expect(await verifyWebhook(c.provider, { ...request, headers }, options(c, [first]))).toMatchObject({ ok: true });
  });

  it.runIf(c.usesSecrets)('reports secretIndex 1 when only the second secret matches', async () => {
    expect(await verifyWebhook(c.provider, valid(c, 1), options(c, [first, second]))).toEqual({
      ok: true,
      secretIndex: 1,
    });
  });

  it.runIf(c.usesSecrets)('fails closed with no_secret for an empty secret list', async () => {
    expectFailure(await verifyWebhook(c.provider, valid(c), options(c, [])), 'no_secret');
    expectFailure(await verifyWebhook(c.provider, valid(c), options(c, [''])), 'no_secret');
  });

  it.runIf(c.usesSecrets)('fails with signature_mismatch for a wrong secret', async () => {
    expectFailure(await verifyWebhook(c.provider, valid(c), options(c, [second])), 'signature_mismatch');
  });

  it.runIf(c.signatureHeader !== undefined)('fails with missing_header without the signature header', async () => {
    const request = withHeader(valid(c), c.signatureHeader!, undefined);
    expectFailure(await verifyWebhook(c.provider, request, options(c, [first])), 'missing_header');
  });

  it.runIf(c.signatureHeader !== undefined)(
    'fails with malformed_header for a malformed signature header',
    async () => {
      const request = withHeader(valid(c), c.signatureHeader!, c.malformedValue);
      expectFailure(await verifyWebhook(c.provider, request, options(c, [first])), 'malformed_header');
    },
  );

  it.runIf(c.signatureHeader !== undefined)('accepts the signature header given as an array', async () => {
    const request = valid(c);
    const asArray = withHeader(request, c.signatureHeader!, [header(request, c.signatureHeader!)]);
    expect(await verifyWebhook(c.provider, asArray, options(c, [first]))).toMatchObject({ ok: true });
  });

  it.runIf(c.acceptsSeveralSignatures)('accepts several signatures of which one is valid (rotation)', async () => {
    const request = valid(c);
    const other = c.sign({ body: request.body, secret: second, nowMs: NOW_MS });
    const name = c.signatureHeader!;
    const several = withHeader(request, name, [header(other, name), header(request, name)]);
    expect(await verifyWebhook(c.provider, several, options(c, [first]))).toEqual({ ok: true, secretIndex: 0 });
  });

  it.runIf(c.bodyBound)('fails with signature_mismatch when one byte of the body is flipped', async () => {
    const request = valid(c);
    const tampered = { ...request, body: flipByte(request.body, Math.floor(String(request.body).length / 2)) };
    expectFailure(await verifyWebhook(c.provider, tampered, options(c, [first])), 'signature_mismatch');
  });

  it.runIf(c.bodyBound)('fails with signature_mismatch when the JSON body is re-serialised', async () => {
    const request = valid(c);
    const reserialised = JSON.stringify(JSON.parse(String(request.body)));
    expect(reserialised).not.toBe(request.body);
    expectFailure(
      await verifyWebhook(c.provider, { ...request, body: reserialised }, options(c, [first])),
      'signature_mismatch',
    );
  });

  it.runIf(c.freshness !== undefined)(
    'accepts timestamps at the tolerance and rejects them 1 s beyond, both ways',
    async () => {
      const { toleranceSeconds, resign } = c.freshness!;
      const at = (offsetSeconds: number) =>
        verifyWebhook(
          c.provider,
          resign({ body: c.body, secret: first, timestampMs: NOW_MS + offsetSeconds * 1000 }),
          options(c, [first]),
        );
      expect(await at(toleranceSeconds)).toMatchObject({ ok: true });
      expect(await at(-toleranceSeconds)).toMatchObject({ ok: true });
      expectFailure(await at(toleranceSeconds + 1), 'timestamp_out_of_tolerance');
      expectFailure(await at(-toleranceSeconds - 1), 'timestamp_out_of_tolerance');
    },
  );

  it.runIf(c.freshness !== undefined)('honours toleranceSeconds in seconds', async () => {
    const request = c.freshness!.resign({ body: c.body, secret: first, timestampMs: NOW_MS - 10_000 });
    expect(await verifyWebhook(c.provider, request, options(c, [first], { toleranceSeconds: 10 }))).toMatchObject({
      ok: true,
    });
    expectFailure(
      await verifyWebhook(c.provider, request, options(c, [first], { toleranceSeconds: 9 })),
      'timestamp_out_of_tolerance',
    );
  });

  it('rejects a 100 KB header value without throwing', async () => {
    const huge = 'a'.repeat(100 * 1024);
    const request = valid(c);
    for (const name of Object.keys(request.headers)) {
      const result = await verifyWebhook(c.provider, withHeader(request, name, huge), options(c, [first]));
      if (c.unprovenHeaders?.includes(name)) expect(typeof result.ok).toBe('boolean');
      else expect(result.ok).toBe(false);
    }
  });

  it.runIf(c.unprovenHeaders !== undefined)('verifies without the headers its case calls unproven', async () => {
    for (const name of c.unprovenHeaders!) {
      const request = withHeader(valid(c), name, undefined);
      expect(await verifyWebhook(c.provider, request, options(c, [first]))).toMatchObject({ ok: true });
    }
  });

  it('never throws for hostile header values', async () => {
    const request = valid(c);
    const hostile: Array<string | string[]> = [
      '',
      ' ',
      '=',
      ',',
      'v1,',
      't=',
      '\u0000',
      'é',
      [],
      ['', ''],
      'Bearer ',
      'a.b.c',
    ];
    for (const name of Object.keys(request.headers)) {
      for (const value of hostile) {
        const result = await verifyWebhook(c.provider, withHeader(request, name, value), options(c, [first]));
        expect(typeof result.ok).toBe('boolean');
        if (!result.ok) expect(result.message).not.toContain(first);
      }
    }
  });

  it.runIf(c.bodyBound && c.signsAnyBytes)(
    'property: any byte string verifies, and no single-byte change does',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 512 }), fc.nat(), async (bytes, position) => {
          const request = c.sign({ body: bytes, secret: first, nowMs: NOW_MS });
          expect(await verifyWebhook(c.provider, request, options(c, [first]))).toMatchObject({ ok: true });
          const changed = { ...request, body: flipByte(bytes, position) };
          expect(await verifyWebhook(c.provider, changed, options(c, [first]))).toMatchObject({ ok: false });
        }),
        { numRuns: 50 },
      );
    },
  );
});
