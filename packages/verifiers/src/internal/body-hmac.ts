import type { VerifyOptions, VerifyResult, WebhookRequest } from '@webhooks/core';
import { bodyBytes, type HmacAlgorithm, hmacDigest, hmacInput, normalizeBase64, normalizeHex } from './crypto.js';
import { headerValues } from './headers.js';
import {
  hasUsableSecret,
  malformedHeader,
  matchDigest,
  missingHeader,
  noSecret,
  ok,
  signatureMismatch,
} from './result.js';

export interface BodyHmacScheme {
  /** Lower-case header name. */
  header: string;
  /** Text before the digest, such as 'sha256='; '' for none. */
  prefix: string;
  encoding: 'hex' | 'base64';
  algorithm: HmacAlgorithm;
}

const DIGEST_BYTES: Record<HmacAlgorithm, number> = { sha256: 32, sha1: 20 };

/** The signature header's candidate digests; null when a value is not of the scheme's form. */
export function candidateDigests(scheme: BodyHmacScheme, values: readonly string[]): string[] | null {
  const bytes = DIGEST_BYTES[scheme.algorithm];
  const candidates: string[] = [];
  for (const raw of values) {
    const value = raw.trim();
    if (!value.startsWith(scheme.prefix)) return null;
    const digest = value.slice(scheme.prefix.length);
    const decoded = scheme.encoding === 'hex' ? normalizeHex(digest, bytes) : normalizeBase64(digest, bytes);
    if (decoded === null) return null;
    candidates.push(decoded);
  }
  return candidates;
}

/** Verifies a scheme whose signed string is the raw body alone (GitHub, Shopify, Notion, ...). */
export function verifyBodyHmac(scheme: BodyHmacScheme, request: WebhookRequest, options: VerifyOptions): VerifyResult {
  if (!hasUsableSecret(options)) return noSecret();
  const values = headerValues(request.headers, scheme.header);
  if (values.length === 0) return missingHeader(scheme.header);
  const candidates = candidateDigests(scheme, values);
  if (candidates === null) {
    return malformedHeader(scheme.header, `${scheme.prefix}<${scheme.encoding} ${scheme.algorithm}>`);
  }
  const body = hmacInput(request.body);
  const index = matchDigest(options, candidates, (secret) =>
    hmacDigest(scheme.algorithm, scheme.encoding, secret, body),
  );
  return index >= 0 ? ok(index) : signatureMismatch();
}

/** The header value the scheme expects for this body and secret. */
export function signBodyHmac(scheme: BodyHmacScheme, body: string | Uint8Array, secret: string): string {
  return scheme.prefix + hmacDigest(scheme.algorithm, scheme.encoding, secret, bodyBytes(body));
}
