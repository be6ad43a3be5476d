import type { VerifyOptions, VerifyResult, WebhookRequest } from '@webhooks/core';
import { type BodyHmacScheme, candidateDigests } from './body-hmac.js';
import { bodyBytes, hmacDigest, hmacInput } from './crypto.js';
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

/** Slack and Zoom: `v0=<hex HMAC-SHA256 of "v0:{timestamp}:{raw body}">` with a timestamp in seconds. */
export interface V0Scheme {
  signatureHeader: string;
  timestampHeader: string;
  defaultToleranceSeconds: number;
}

export function verifyV0(scheme: V0Scheme, request: WebhookRequest, options: VerifyOptions): VerifyResult {
  if (!hasUsableSecret(options)) return noSecret();
  const values = headerValues(request.headers, scheme.signatureHeader);
  if (values.length === 0) return missingHeader(scheme.signatureHeader);
  const timestamp = singleHeader(request.headers, scheme.timestampHeader);
  if (!timestamp.ok) {
    return timestamp.reason === 'missing_header'
      ? missingHeader(scheme.timestampHeader)
      : fail('malformed_header', `Malformed ${scheme.timestampHeader} header: repeated with different values`);
  }
  const seconds = parseInteger(timestamp.value);
  if (seconds === null) return malformedHeader(scheme.timestampHeader, 'whole seconds since the epoch');
  const digestScheme: BodyHmacScheme = {
    header: scheme.signatureHeader,
    prefix: 'v0=',
    encoding: 'hex',
    algorithm: 'sha256',
  };
  const candidates = candidateDigests(digestScheme, values);
  if (candidates === null) return malformedHeader(scheme.signatureHeader, 'v0=<hex>');
  if (!withinTolerance(seconds * 1000, options, scheme.defaultToleranceSeconds)) return staleTimestamp();
  const body = hmacInput(request.body);
  const prefix = `v0:${timestamp.value}:`;
  const index = matchDigest(options, candidates, (secret) => hmacDigest('sha256', 'hex', secret, prefix, body));
  return index >= 0 ? ok(index) : signatureMismatch();
}

export function signV0(body: string | Uint8Array, secret: string, timestampSeconds: number): string {
  return `v0=${hmacDigest('sha256', 'hex', secret, `v0:${timestampSeconds}:`, bodyBytes(body))}`;
}
