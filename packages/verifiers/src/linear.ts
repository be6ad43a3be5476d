import type { VerifyOptions, VerifyResult, WebhookRequest } from '@webhooks/core';
import { type BodyHmacScheme, signBodyHmac, verifyBodyHmac } from './internal/body-hmac.js';
import { bodyText } from './internal/crypto.js';
import { parseJsonObject } from './internal/json.js';
import { fail, staleTimestamp, withinTolerance } from './internal/result.js';
import type { ProviderVerifier } from './internal/verifier.js';

const scheme: BodyHmacScheme = { header: 'linear-signature', prefix: '', encoding: 'hex', algorithm: 'sha256' };
const DEFAULT_TOLERANCE_SECONDS = 60;

/**
 * Linear: `Linear-Signature: <hex HMAC-SHA256 of the raw body>`; freshness comes from the body's
 * `webhookTimestamp` (ms), which Linear's own SDK holds to 60 s.
 */
export function verifyLinear(request: WebhookRequest, options: VerifyOptions): VerifyResult {
  const signed = verifyBodyHmac(scheme, request, options);
  if (!signed.ok) return signed;
  const payload = parseJsonObject(bodyText(request.body), Number.POSITIVE_INFINITY);
  const timestamp = payload?.webhookTimestamp;
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) {
    return fail('malformed_header', 'The body has no numeric webhookTimestamp');
  }
  return withinTolerance(timestamp, options, DEFAULT_TOLERANCE_SECONDS) ? signed : staleTimestamp();
}

export function signLinear(input: {
  body: string | Uint8Array;
  secret: string;
  deliveryId?: string;
}): Record<string, string> {
  const headers: Record<string, string> = { 'linear-signature': signBodyHmac(scheme, input.body, input.secret) };
  if (input.deliveryId !== undefined) headers['linear-delivery'] = input.deliveryId;
  return headers;
}

export const linear: ProviderVerifier = { id: 'linear', verify: verifyLinear };
