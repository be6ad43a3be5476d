import {
  type HeaderMap,
  isWebhookError,
  type VerifyOptions,
  type VerifyResult,
  type WebhookEvent,
  type WebhookProvider,
  type WebhookRequest,
} from '@webhooks/core';
import { describe, expect, it } from 'vitest';

/** What `sign` is given: the body to sign, the secret and the time to sign at (ms since the epoch). */
export interface ProviderSignInput {
  body: string | Uint8Array;
  secret: string;
  nowMs: number;
}

/** A request signed ahead of time (a provider's published example, a captured delivery). */
export interface FixedProviderVector {
  name?: string;
  /** Signed with `vectors.secrets[0]`. */
  request: WebhookRequest;
  /** When it was signed (ms since the epoch): verification runs at this time. */
  nowMs: number;
}

/** A realistic body to sign, verify and parse; pretty-printed JSON so re-serialising it changes the bytes. */
export type ProviderSample = string | Uint8Array | { name: string; body: string | Uint8Array };

/**
 * How to build valid requests for a provider and which of the standard breakages apply to it.
 * Give `sign` (preferred: the battery can then sign any body at any time) or `fixed` vectors, or both.
 */
export interface ProviderVectors {
  /** Two distinct secrets of the provider's form; the first signs, the second is the wrong one. */
  secrets: readonly [string, string];
  /** Bodies `sign` signs; every one must verify and parse. The first is the one the battery breaks. */
  samples?: readonly ProviderSample[];
  /** A valid request for this body, secret and time, with every header the provider sends. */
  sign?(input: ProviderSignInput): WebhookRequest | Promise<WebhookRequest>;
  /** Known-answer requests, checked like signed samples. */
  fixed?: readonly FixedProviderVector[];
  /** The time `sign` signs at and verification runs at; a fixed instant by default. */
  nowMs?: number;
  /** The header that carries the proof; without it the header breakages are skipped. */
  signatureHeader?: string;
  /** A value of the signature header that is not of the provider's form (`malformed_header`). */
  malformedSignature?: string;
  /** Headers `sign` sets that the proof does not cover (delivery ids, event names, content type). */
  unprovenHeaders?: readonly string[];
  /** The freshness window, when the provider sends a timestamp. */
  freshness?: { toleranceSeconds: number };
  /** Extra verify options every request needs (an org id, a Google audience and keys). */
  options?: Partial<VerifyOptions>;
  /** Whether the proof covers the body bytes (default true). */
  bodyBound?: boolean;
  /** Whether two copies of the signature header, one of them valid, verify (default true). */
  acceptsSeveralSignatures?: boolean;
  /** Whether `options.secrets` is used at all (default true). */
  usesSecrets?: boolean;
  /** Whether every delivery carries a delivery id, so each parsed event must have one (default true). */
  sendsDeliveryId?: boolean;
  /** Verified-looking bodies that are not events: parse must throw WebhookError('invalid_payload'). */
  unparseable?: ReadonlyArray<string | Uint8Array>;
}

/** 2026-11-28T12:00:00Z: far from any real clock, so a battery that forgets `now` fails loudly. */
export const PROVIDER_CONFORMANCE_NOW_MS = Date.UTC(2026, 10, 28, 12, 0, 0);

const HUGE_HEADER = 'a'.repeat(100 * 1024);
const HOSTILE_VALUES: Array<string | string[]> = [
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
/** Failure messages are fixed sentences, never a dump of the request. */
const MAX_MESSAGE_LENGTH = 300;

interface NamedBody {
  name: string;
  body: string | Uint8Array;
}

function samplesOf(vectors: ProviderVectors): NamedBody[] {
  return (vectors.samples ?? []).map((sample, index) =>
    typeof sample === 'string' || sample instanceof Uint8Array ? { name: `sample ${index + 1}`, body: sample } : sample,
  );
}

function withHeader(request: WebhookRequest, name: string, value: string | string[] | undefined): WebhookRequest {
  const headers: HeaderMap = {};
  // Drop every case variant of the name, so the change cannot be masked by a duplicate.
  for (const [key, existing] of Object.entries(request.headers)) {
    if (key.toLowerCase() !== name.toLowerCase()) headers[key] = existing;
  }
  if (value !== undefined) headers[name] = value;
  return { ...request, headers };
}

function headerOf(request: WebhookRequest, name: string): string {
  const entry = Object.entries(request.headers).find(([key]) => key.toLowerCase() === name.toLowerCase());
  const value = entry?.[1];
  if (typeof value !== 'string') throw new Error(`The signed request has no single ${name} header`);
  return value;
}

function bytesOf(body: string | Uint8Array): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
}

function flipByte(body: string | Uint8Array): Buffer {
  const bytes = bytesOf(body);
  const index = Math.floor(bytes.length / 2);
  bytes[index] = bytes[index]! ^ 0x01;
  return bytes;
}

function reserialised(body: string | Uint8Array): string | null {
  try {
    const text = bytesOf(body).toString('utf8');
    const again = JSON.stringify(JSON.parse(text));
    return again === text ? null : again;
  } catch {
    return null;
  }
}

function expectFailure(result: VerifyResult, reason: string, secrets: readonly string[]): void {
  expect(result).toMatchObject({ ok: false, reason });
  if (!result.ok) expectSafeMessage(result.message, secrets);
}

function expectSafeMessage(message: string, secrets: readonly string[]): void {
  expect(message.length).toBeGreaterThan(0);
  expect(message.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
  for (const secret of secrets) if (secret.length > 0) expect(message).not.toContain(secret);
}

/** Resolves even when verify throws or rejects, so "never throws" is an assertion, not a crash. */
async function settle(run: () => Promise<VerifyResult>): Promise<VerifyResult | { thrown: unknown }> {
  try {
    return await run();
  } catch (thrown) {
    return { thrown };
  }
}

function expectEvent(event: WebhookEvent, providerId: string, requireDeliveryId: boolean): void {
  expect(event.providerId).toBe(providerId);
  for (const field of ['eventType', 'entityType', 'entityId'] as const) {
    expect(typeof event[field], field).toBe('string');
    expect(event[field].length, field).toBeGreaterThan(0);
  }
  expect(typeof event.data).toBe('object');
  expect(event.data).not.toBeNull();
  expect(Array.isArray(event.data)).toBe(false);
  expect(event.timestamp).toBeInstanceOf(Date);
  expect(Number.isNaN(event.timestamp.getTime())).toBe(false);
  if (requireDeliveryId) {
    expect(typeof event.deliveryId).toBe('string');
    expect(event.deliveryId!.length).toBeGreaterThan(0);
  }
}

/**
 * The standard battery every provider passes: one valid request, then exactly one thing broken per
 * test (missing, malformed and repeated headers, wrong secret, a flipped body byte, re-serialised
 * JSON, timestamps 1 s beyond the tolerance both ways, rotation, no secrets, a 100 KB header,
 * hostile values), plus parse checks on every sample. Call it at the top level of a test file.
 */
export function runProviderConformance(provider: WebhookProvider, vectors: ProviderVectors): void {
  const [first, second] = vectors.secrets;
  const nowMs = vectors.nowMs ?? PROVIDER_CONFORMANCE_NOW_MS;
  const samples = samplesOf(vectors);
  const fixed = vectors.fixed ?? [];
  const bodyBound = vectors.bodyBound ?? true;
  const usesSecrets = vectors.usesSecrets ?? true;
  const severalSignatures = (vectors.acceptsSeveralSignatures ?? true) && vectors.sign !== undefined;
  const signatureHeader = vectors.signatureHeader;
  const unproven = new Set((vectors.unprovenHeaders ?? []).map((name) => name.toLowerCase()));

  const options = (secrets: string[], at = nowMs): VerifyOptions => ({ now: at, ...vectors.options, secrets });
  const verify = (request: WebhookRequest, secrets: string[], at = nowMs) =>
    provider.verify(request, options(secrets, at));

  /** Every valid request the vectors describe, with the time it verifies at. */
  const valid = async (): Promise<Array<{ name: string; request: WebhookRequest; at: number }>> => {
    const signed: Array<{ name: string; request: WebhookRequest; at: number }> = [];
    if (vectors.sign) {
      for (const sample of samples) {
        signed.push({
          name: sample.name,
          request: await vectors.sign({ body: sample.body, secret: first, nowMs }),
          at: nowMs,
        });
      }
    }
    for (const [index, vector] of fixed.entries()) {
      signed.push({ name: vector.name ?? `fixed vector ${index + 1}`, request: vector.request, at: vector.nowMs });
    }
    return signed;
  };
  const base = async (): Promise<{ request: WebhookRequest; at: number }> => {
    const all = await valid();
    if (all.length === 0) throw new Error('runProviderConformance needs `sign` with `samples`, or `fixed` vectors');
    return all[0]!;
  };

  describe(`runProviderConformance(${provider.id})`, () => {
    it('has at least one valid request to break', async () => {
      expect((await valid()).length).toBeGreaterThan(0);
      expect(first).not.toBe(second);
    });

    it('verify returns ok with secretIndex 0 for every sample', async () => {
      for (const { name, request, at } of await valid()) {
        expect(await verify(request, [first], at), name).toEqual({ ok: true, secretIndex: 0 });
      }
    });

    it('verify accepts the raw body as a Uint8Array', async () => {
      const { request, at } = await base();
      const bytes = new Uint8Array(bytesOf(request.body));
      expect(await verify({ ...request, body: bytes }, [first], at)).toMatchObject({ ok: true });
    });

    it('verify accepts header names in any case', async () => {
      const { request, at } = await base();
      const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toUpperCase(), v]));
      expect(await verify({ ...request, headers }, [first], at)).toMatchObject({ ok: true });
    });

    it.runIf(signatureHeader !== undefined)(
      'verify fails with missing_header without the signature header',
      async () => {
        const { request, at } = await base();
        expectFailure(await verify(withHeader(request, signatureHeader!, undefined), [first], at), 'missing_header', [
          first,
        ]);
      },
    );

    it.runIf(signatureHeader !== undefined && vectors.malformedSignature !== undefined)(
      'verify fails with malformed_header for a malformed signature header',
      async () => {
        const { request, at } = await base();
        const malformed = withHeader(request, signatureHeader!, vectors.malformedSignature);
        expectFailure(await verify(malformed, [first], at), 'malformed_header', [first]);
      },
    );

    it.runIf(signatureHeader !== undefined)('verify accepts the signature header given as an array', async () => {
      const { request, at } = await base();
      const asArray = withHeader(request, signatureHeader!, [headerOf(request, signatureHeader!)]);
      expect(await verify(asArray, [first], at)).toMatchObject({ ok: true });
    });

    it.runIf(usesSecrets)('verify fails with signature_mismatch for a wrong secret', async () => {
      const { request, at } = await base();
      expectFailure(await verify(request, [second], at), 'signature_mismatch', [first, second]);
    });

    it.runIf(usesSecrets)('verify reports secretIndex 1 when only the second secret matches', async () => {
      const { request, at } = await base();
      expect(await verify(request, [second, first], at)).toEqual({ ok: true, secretIndex: 1 });
    });

    it.runIf(usesSecrets)('verify fails closed with no_secret for an empty secret list', async () => {
      const { request, at } = await base();
      expectFailure(await verify(request, [], at), 'no_secret', [first]);
      expectFailure(await verify(request, [''], at), 'no_secret', [first]);
    });

    it.runIf(severalSignatures && signatureHeader !== undefined)(
      'verify accepts several signatures of which one is valid (rotation)',
      async () => {
        const { request, at } = await base();
        const other = await vectors.sign!({ body: request.body, secret: second, nowMs: at });
        const name = signatureHeader!;
        const several = withHeader(request, name, [headerOf(other, name), headerOf(request, name)]);
        expect(await verify(several, [first], at)).toEqual({ ok: true, secretIndex: 0 });
      },
    );

    it.runIf(bodyBound)('verify fails with signature_mismatch when one byte of the body is flipped', async () => {
      const { request, at } = await base();
      expectFailure(await verify({ ...request, body: flipByte(request.body) }, [first], at), 'signature_mismatch', [
        first,
      ]);
    });

    it.runIf(bodyBound)('verify fails with signature_mismatch when the JSON body is re-serialised', async () => {
      const { request, at } = await base();
      const again = reserialised(request.body);
      // A compact or non-JSON sample cannot be re-serialised differently: nothing to break then.
      if (again === null) return;
      expectFailure(await verify({ ...request, body: again }, [first], at), 'signature_mismatch', [first]);
    });

    it.runIf(vectors.freshness !== undefined)(
      'verify accepts timestamps at the tolerance and rejects them 1 s beyond, both ways',
      async () => {
        const { request, at } = await base();
        const tolerance = vectors.freshness!.toleranceSeconds * 1000;
        // The request stays as signed; the receiver's clock moves instead.
        expect(await verify(request, [first], at + tolerance)).toMatchObject({ ok: true });
        expect(await verify(request, [first], at - tolerance)).toMatchObject({ ok: true });
        expectFailure(await verify(request, [first], at + tolerance + 1000), 'timestamp_out_of_tolerance', [first]);
        expectFailure(await verify(request, [first], at - tolerance - 1000), 'timestamp_out_of_tolerance', [first]);
      },
    );

    it('verify rejects a 100 KB header value without throwing', async () => {
      const { request, at } = await base();
      for (const name of Object.keys(request.headers)) {
        const result = await settle(() => verify(withHeader(request, name, HUGE_HEADER), [first], at));
        expect(result, name).not.toHaveProperty('thrown');
        if (!unproven.has(name.toLowerCase())) expect((result as VerifyResult).ok, name).toBe(false);
      }
    });

    it('verify never throws for hostile header values or bodies, and never echoes a secret', async () => {
      const { request, at } = await base();
      const requests: WebhookRequest[] = [
        { ...request, body: '' },
        { ...request, body: new Uint8Array([0xff, 0xfe, 0x00]) },
        { ...request, headers: {} },
      ];
      for (const name of Object.keys(request.headers)) {
        for (const value of HOSTILE_VALUES) requests.push(withHeader(request, name, value));
      }
      for (const hostile of requests) {
        const result = await settle(() => verify(hostile, [first], at));
        expect(result).not.toHaveProperty('thrown');
        const verified = result as VerifyResult;
        expect(typeof verified.ok).toBe('boolean');
        if (!verified.ok) expectSafeMessage(verified.message, [first]);
      }
    });

    it.runIf(provider.handshake !== undefined)('handshake returns null for an ordinary event', async () => {
      const { request, at } = await base();
      expect(await provider.handshake!(request, options([first], at))).toBeNull();
    });

    it('parse gives complete events for every sample', async () => {
      const requireDeliveryId = vectors.sendsDeliveryId ?? true;
      for (const { name, request, at } of await valid()) {
        const parsed = provider.parse(
          { headers: request.headers, body: request.body, ...(request.url ? { url: request.url } : {}) },
          { now: at },
        );
        const events = Array.isArray(parsed) ? parsed : [parsed];
        expect(events.length, name).toBeGreaterThan(0);
        for (const event of events) expectEvent(event, provider.id, requireDeliveryId);
      }
    });

    it.runIf(provider.dedupeKey !== undefined && (vectors.sendsDeliveryId ?? true))(
      'dedupeKey returns the delivery id of every sample',
      async () => {
        for (const { name, request } of await valid()) {
          const key = provider.dedupeKey!({ headers: request.headers, body: request.body });
          expect(typeof key, name).toBe('string');
          expect(key!.length, name).toBeGreaterThan(0);
        }
      },
    );

    it.runIf((vectors.unparseable ?? []).length > 0)(
      'parse throws invalid_payload for bodies that are not events',
      () => {
        for (const body of vectors.unparseable!) {
          let thrown: unknown;
          try {
            provider.parse({ headers: {}, body });
          } catch (error) {
            thrown = error;
          }
          expect(isWebhookError(thrown)).toBe(true);
          expect((thrown as { code: string }).code).toBe('invalid_payload');
        }
      },
    );
  });
}
