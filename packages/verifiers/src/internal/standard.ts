import type { VerifyOptions, VerifyResult, WebhookRequest } from '@webhooks/core';
import { bodyBytes, hmacDigest, hmacInput, normalizeBase64 } from './crypto.js';
import { headerValues, singleHeader } from './headers.js';
import {
  fail,
  hasUsableSecret,
  malformedHeader,
  matchDigest,
  missingHeader,
  noSecret,
  ok,
  parseInteger,
  signatureMismatch,
  staleTimestamp,
  withinTolerance,
} from './result.js';

const DEFAULT_TOLERANCE_SECONDS = 300;

/**
 * The Standard Webhooks scheme: `{prefix}-signature: v1,<b64> [v1,<b64> ...]` over
 * `{id}.{timestamp}.{raw body}`, keyed by the base64-decoded secret (after `whsec_`).
 * `prefixes` are tried in order (Svix sends `svix-*`, newer Svix and others `webhook-*`).
 */
export function verifyStandard(
  prefixes: readonly string[],
  request: WebhookRequest,
  options: VerifyOptions,
): VerifyResult {
  if (!hasUsableSecret(options)) return noSecret();
  const prefix = prefixes.find((p) => headerValues(request.headers, `${p}-signature`).length > 0) ?? prefixes[0]!;
  const signatureHeader = `${prefix}-signature`;
  const values = headerValues(request.headers, signatureHeader);
  if (values.length === 0) return missingHeader(signatureHeader);
  const id = singleHeader(request.headers, `${prefix}-id`);
  if (!id.ok) return fail(id.reason, `${id.reason === 'missing_header' ? 'Missing' : 'Malformed'} ${prefix}-id header`);
  const timestamp = singleHeader(request.headers, `${prefix}-timestamp`);
  if (!timestamp.ok) {
    return fail(
      timestamp.reason,
      `${timestamp.reason === 'missing_header' ? 'Missing' : 'Malformed'} ${prefix}-timestamp header`,
    );
  }
  const seconds = parseInteger(timestamp.value);
  if (seconds === null) return malformedHeader(`${prefix}-timestamp`, 'whole seconds since the epoch');

  const candidates: string[] = [];
  let entries = 0;
  for (const value of values) {
    for (const entry of value.split(' ')) {
      if (entry.length === 0) continue;
      entries++;
      const comma = entry.indexOf(',');
      if (comma <= 0) continue;
      // Only v1 (symmetric) is ours to check; v1a and future versions are skipped.
      if (entry.slice(0, comma) !== 'v1') continue;
      const digest = normalizeBase64(entry.slice(comma + 1), 32);
      if (digest !== null) candidates.push(digest);
    }
  }
  if (entries === 0) return missingHeader(signatureHeader);
  if (candidates.length === 0) return malformedHeader(signatureHeader, 'v1,<base64>');
  if (!withinTolerance(seconds * 1000, options, DEFAULT_TOLERANCE_SECONDS)) return staleTimestamp();

  const body = hmacInput(request.body);
  const signed = `${id.value}.${timestamp.value}.`;
  const index = matchDigest(options, candidates, (secret) => {
    const key = secretKey(secret);
    return key.length === 0 ? '' : hmacDigest('sha256', 'base64', key, signed, body);
  });
  return index >= 0 ? ok(index) : signatureMismatch();
}

const NO_KEY = Buffer.alloc(0);

/**
 * The signing key: the base64 after the optional `whsec_` prefix. A secret that is not strict
 * base64 gives no key at all (Node would silently decode a mistyped one to a valid key, and an
 * empty key must never be usable), so it verifies nothing.
 */
export function secretKey(secret: string): Buffer {
  const cached = keys.get(secret);
  if (cached !== undefined) return cached;
  const encoded = secret.startsWith('whsec_') ? secret.slice(6) : secret;
  let key = NO_KEY;
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) {
    const decoded = Buffer.from(encoded, 'base64');
    if (decoded.length > 0 && decoded.toString('base64').replace(/=+$/, '') === encoded.replace(/=+$/, ''))
      key = decoded;
  }
  // Decoding and checking costs more than the HMAC itself; the few live secrets are kept decoded.
  if (keys.size >= 256) keys.clear();
  keys.set(secret, key);
  return key;
}

const keys = new Map<string, Buffer>();

export interface SignStandardInput {
  body: string | Uint8Array;
  secret: string;
  id: string;
  /** Seconds since the epoch; defaults to now. */
  timestamp?: number;
}

export function signStandard(prefix: string, input: SignStandardInput): Record<string, string> {
  const timestamp = input.timestamp ?? Math.floor(Date.now() / 1000);
  const signature = hmacDigest(
    'sha256',
    'base64',
    secretKey(input.secret),
    `${input.id}.${timestamp}.`,
    bodyBytes(input.body),
  );
  return {
    [`${prefix}-id`]: input.id,
    [`${prefix}-timestamp`]: String(timestamp),
    [`${prefix}-signature`]: `v1,${signature}`,
  };
}
