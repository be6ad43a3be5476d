import type { VerifyOptions, VerifyResult, WebhookRequest } from '@webhooks/core';
import { bodyBytes, hmacDigest, hmacInput, normalizeHex } from './internal/crypto.js';
import { headerValues } from './internal/headers.js';
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
import type { ProviderVerifier } from './internal/verifier.js';

const HEADER = 'stripe-signature';
const DEFAULT_TOLERANCE_SECONDS = 300;

/**
 * Stripe: `Stripe-Signature: t=<seconds>,v1=<hex>[,v1=<hex>...]` over `{t}.{raw body}`, keyed by the
 * whole `whsec_...` string. Several v1 entries appear while Stripe rolls a secret; `v0` and unknown
 * schemes are ignored.
 */
export function verifyStripe(request: WebhookRequest, options: VerifyOptions): VerifyResult {
  if (!hasUsableSecret(options)) return noSecret();
  const values = headerValues(request.headers, HEADER);
  if (values.length === 0) return missingHeader(HEADER);
  let timestamp: string | undefined;
  const candidates: string[] = [];
  for (const value of values) {
    for (const item of value.split(',')) {
      const separator = item.indexOf('=');
      if (separator <= 0) continue;
      const key = item.slice(0, separator).trim();
      const val = item.slice(separator + 1).trim();
      if (key === 't') {
        if (timestamp !== undefined && timestamp !== val) {
          return fail('malformed_header', 'Malformed stripe-signature header: more than one timestamp');
        }
        timestamp = val;
      } else if (key === 'v1') {
        const digest = normalizeHex(val, 32);
        if (digest !== null) candidates.push(digest);
      }
    }
  }
  const seconds = timestamp === undefined ? null : parseInteger(timestamp);
  if (seconds === null || candidates.length === 0) return malformedHeader(HEADER, 't=<seconds>,v1=<hex>');
  if (!withinTolerance(seconds * 1000, options, DEFAULT_TOLERANCE_SECONDS)) return staleTimestamp();
  const body = hmacInput(request.body);
  const prefix = `${timestamp}.`;
  const index = matchDigest(options, candidates, (secret) => hmacDigest('sha256', 'hex', secret, prefix, body));
  return index >= 0 ? ok(index) : signatureMismatch();
}

export interface SignStripeInput {
  body: string | Uint8Array;
  /** The endpoint's `whsec_...` signing secret; several give several v1 entries. */
  secret: string | string[];
  /** Seconds since the epoch; defaults to now. */
  timestamp?: number;
}

export function signStripe(input: SignStripeInput): Record<string, string> {
  const timestamp = input.timestamp ?? Math.floor(Date.now() / 1000);
  const secrets = Array.isArray(input.secret) ? input.secret : [input.secret];
  const body = bodyBytes(input.body);
  const signatures = secrets.map((secret) => `v1=${hmacDigest('sha256', 'hex', secret, `${timestamp}.`, body)}`);
  return { 'stripe-signature': [`t=${timestamp}`, ...signatures].join(',') };
}

export const stripe: ProviderVerifier = { id: 'stripe', verify: verifyStripe };
