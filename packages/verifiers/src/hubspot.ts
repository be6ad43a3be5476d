import type { VerifyOptions, VerifyResult, WebhookRequest } from '@webhooks/core';
import { type BodyHmacScheme, candidateDigests } from './internal/body-hmac.js';
import { bodyBytes, hmacDigest, sha256Hex } from './internal/crypto.js';
import { headerValues, singleHeader } from './internal/headers.js';
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
} from './internal/result.js';
import { VerifierUsageError } from './internal/usage.js';
import type { ProviderVerifier } from './internal/verifier.js';

const V3: BodyHmacScheme = { header: 'x-hubspot-signature-v3', prefix: '', encoding: 'base64', algorithm: 'sha256' };
// v1 and v2 are plain SHA-256 digests of secret-prefixed strings, not HMACs; same hex shape.
const LEGACY: BodyHmacScheme = { header: 'x-hubspot-signature', prefix: '', encoding: 'hex', algorithm: 'sha256' };
const TIMESTAMP_HEADER = 'x-hubspot-request-timestamp';
const VERSION_HEADER = 'x-hubspot-signature-version';
const DEFAULT_TOLERANCE_SECONDS = 300;

/**
 * HubSpot. v3: `X-HubSpot-Signature-v3: <base64 HMAC-SHA256>` over `{METHOD}{url}{raw body}{timestamp}`
 * with `X-HubSpot-Request-Timestamp` in ms. It wins whenever present, so a replayable v1/v2 signature
 * beside it cannot be used to downgrade. v1: hex sha256(secret + body); v2: hex sha256(secret +
 * method + url + body).
 */
export function verifyHubSpot(request: WebhookRequest, options: VerifyOptions): VerifyResult {
  if (headerValues(request.headers, V3.header).length > 0) return verifyV3(request, options);
  if (!hasUsableSecret(options)) return noSecret();
  const values = headerValues(request.headers, LEGACY.header);
  if (values.length === 0) return missingHeader(V3.header);
  const version = legacyVersion(request);
  if (version === null) return malformedHeader(VERSION_HEADER, 'v1 or v2');
  const candidates = candidateDigests(LEGACY, values);
  if (candidates === null) return malformedHeader(LEGACY.header, '<hex SHA-256>');
  const body = bodyBytes(request.body);
  const signed = version === 'v2' ? `${method(request)}${requireUrl(request)}` : '';
  const index = matchDigest(options, candidates, (secret) => sha256Hex(secret, signed, body));
  return index >= 0 ? ok(index) : signatureMismatch();
}

function verifyV3(request: WebhookRequest, options: VerifyOptions): VerifyResult {
  const url = requireUrl(request);
  if (!hasUsableSecret(options)) return noSecret();
  const timestamp = singleHeader(request.headers, TIMESTAMP_HEADER);
  if (!timestamp.ok) {
    return timestamp.reason === 'missing_header'
      ? missingHeader(TIMESTAMP_HEADER)
      : fail('malformed_header', `Malformed ${TIMESTAMP_HEADER} header: repeated with different values`);
  }
  const ms = parseInteger(timestamp.value);
  if (ms === null) return malformedHeader(TIMESTAMP_HEADER, 'whole milliseconds since the epoch');
  const candidates = candidateDigests(V3, headerValues(request.headers, V3.header));
  if (candidates === null) return malformedHeader(V3.header, '<base64 HMAC-SHA256>');
  if (!withinTolerance(ms, options, DEFAULT_TOLERANCE_SECONDS)) return staleTimestamp();
  const prefix = `${method(request)}${decodeHubSpotUri(url)}`;
  const body = bodyBytes(request.body);
  const index = matchDigest(options, candidates, (secret) =>
    hmacDigest('sha256', 'base64', secret, prefix, body, timestamp.value),
  );
  return index >= 0 ? ok(index) : signatureMismatch();
}

/** An absent version header means v1, the oldest scheme (CRM object event subscriptions). */
function legacyVersion(request: WebhookRequest): 'v1' | 'v2' | null {
  if (headerValues(request.headers, VERSION_HEADER).length === 0) return 'v1';
  const version = singleHeader(request.headers, VERSION_HEADER);
  const value = version.ok ? version.value.toLowerCase() : '';
  return value === 'v1' || value === 'v2' ? value : null;
}

function requireUrl(request: WebhookRequest): string {
  if (typeof request.url !== 'string') {
    throw new VerifierUsageError('hubspot v2 and v3 signatures need request.url: the full URL HubSpot called');
  }
  return request.url;
}

function method(request: { method?: string | undefined }): string {
  return (request.method ?? 'POST').toUpperCase();
}

const DECODED: Record<string, string> = {
  '3a': ':',
  '2f': '/',
  '3f': '?',
  '40': '@',
  '21': '!',
  '24': '$',
  '27': "'",
  '28': '(',
  '29': ')',
  '2a': '*',
  '2c': ',',
  '3b': ';',
};

/**
 * HubSpot's v3 rule: these twelve percent-encoded characters (and no others) are decoded in the URI
 * before signing. One pass, so `%253A` stays as it is.
 */
export function decodeHubSpotUri(url: string): string {
  return url.replace(/%(3a|2f|3f|40|21|24|27|28|29|2a|2c|3b)/gi, (_, hex: string) => DECODED[hex.toLowerCase()]!);
}

export interface SignHubSpotV3Input {
  url: string;
  body: string | Uint8Array;
  secret: string;
  /** Defaults to POST. */
  method?: string;
  /** Milliseconds since the epoch; defaults to now. */
  timestamp?: number;
}

export function signHubSpotV3(input: SignHubSpotV3Input): Record<string, string> {
  const timestamp = String(input.timestamp ?? Date.now());
  const signed = `${method(input)}${decodeHubSpotUri(input.url)}`;
  return {
    'x-hubspot-request-timestamp': timestamp,
    'x-hubspot-signature-v3': hmacDigest('sha256', 'base64', input.secret, signed, bodyBytes(input.body), timestamp),
  };
}

export function signHubSpotV1(input: { body: string | Uint8Array; secret: string }): Record<string, string> {
  return {
    'x-hubspot-signature': sha256Hex(input.secret, bodyBytes(input.body)),
    'x-hubspot-signature-version': 'v1',
  };
}

export function signHubSpotV2(input: {
  url: string;
  body: string | Uint8Array;
  secret: string;
  method?: string;
}): Record<string, string> {
  return {
    'x-hubspot-signature': sha256Hex(input.secret, `${method(input)}${input.url}`, bodyBytes(input.body)),
    'x-hubspot-signature-version': 'v2',
  };
}

export const hubspot: ProviderVerifier = { id: 'hubspot', verify: verifyHubSpot };
