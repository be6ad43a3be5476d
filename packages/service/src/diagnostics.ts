import type { HeaderMap, SignatureDiagnostics, WebhookRequest } from '@webhooks/core';

/** Headers that prove or carry a signature, by provider scheme, for "why did it fail?". */
const SIGNATURE_HEADERS = [
  'x-hub-signature-256',
  'x-hub-signature',
  'x-slack-signature',
  'x-slack-request-timestamp',
  'x-notion-signature',
  'x-salesforce-event-signature',
  'x-signature',
  'authorization',
  'x-goog-channel-token',
  'stripe-signature',
  'webhook-signature',
  'webhook-timestamp',
  'webhook-id',
  'svix-signature',
  'svix-timestamp',
  'svix-id',
  'x-shopify-hmac-sha256',
  'x-twilio-signature',
  'x-hubspot-signature-v3',
  'x-hubspot-signature',
  'x-hubspot-request-timestamp',
  'linear-signature',
  'x-zm-signature',
  'x-zm-request-timestamp',
];

/** Timestamp headers and their unit, to report the clock skew that stale-timestamp failures come from. */
const TIMESTAMP_HEADERS: Array<[name: string, unitMs: number]> = [
  ['x-slack-request-timestamp', 1000],
  ['webhook-timestamp', 1000],
  ['svix-timestamp', 1000],
  ['x-zm-request-timestamp', 1000],
  ['x-hubspot-request-timestamp', 1],
];

/** Credentials that must never be stored or logged, whatever the provider. */
const CREDENTIAL_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'x-goog-channel-token',
]);

function lowerCaseHeaders(headers: HeaderMap): Map<string, string> {
  const map = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    map.set(name.toLowerCase(), Array.isArray(value) ? value.join(', ') : String(value));
  }
  return map;
}

export function diagnoseSignature(request: WebhookRequest, nowMs: number): SignatureDiagnostics {
  const headers = lowerCaseHeaders(request.headers);
  const diagnostics: SignatureDiagnostics = {
    signatureHeaders: SIGNATURE_HEADERS.filter((name) => headers.has(name)),
    bodyLength: typeof request.body === 'string' ? Buffer.byteLength(request.body) : request.body.byteLength,
  };
  const contentType = headers.get('content-type');
  if (contentType !== undefined) diagnostics.contentType = contentType.slice(0, 200);
  for (const [name, unitMs] of TIMESTAMP_HEADERS) {
    const value = headers.get(name);
    if (value === undefined || !/^\d{1,16}$/.test(value)) continue;
    diagnostics.timestampSkewSeconds = Math.round((nowMs - Number(value) * unitMs) / 1000);
    break;
  }
  const stripe = headers.get('stripe-signature')?.match(/(?:^|,)\s*t=(\d{1,16})/);
  if (stripe?.[1] !== undefined)
    diagnostics.timestampSkewSeconds = Math.round((nowMs - Number(stripe[1]) * 1000) / 1000);
  return diagnostics;
}

/**
 * Headers as stored with a delivery: lower-case names, repeated values joined, credentials dropped,
 * and any value that holds one of the registration's secrets dropped too. `redacted` says whether
 * anything was dropped (such a delivery cannot be verified again from what was stored).
 */
export function storableHeaders(
  headers: HeaderMap,
  secrets: readonly string[],
): { headers: Record<string, string>; redacted: boolean } {
  const stored: Record<string, string> = {};
  let redacted = false;
  for (const key of Object.keys(headers)) {
    const raw = headers[key];
    if (raw === undefined) continue;
    const name = key.toLowerCase();
    const value = Array.isArray(raw) ? raw.join(', ') : String(raw);
    if (CREDENTIAL_HEADERS.has(name) || containsSecret(value, secrets)) {
      redacted = true;
      continue;
    }
    stored[name] = value.length > 8192 ? value.slice(0, 8192) : value;
  }
  return { headers: stored, redacted };
}

function containsSecret(value: string, secrets: readonly string[]): boolean {
  for (const secret of secrets) if (secret.length > 0 && value.includes(secret)) return true;
  return false;
}
