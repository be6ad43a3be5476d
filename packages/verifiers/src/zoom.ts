import type { HandshakeResponse, VerifyOptions, VerifyResult, WebhookRequest } from '@webhooks/core';
import { bodyText, hmacDigest } from './internal/crypto.js';
import { parseJsonObject } from './internal/json.js';
import { signV0, type V0Scheme, verifyV0 } from './internal/v0-scheme.js';
import type { ProviderVerifier } from './internal/verifier.js';

const scheme: V0Scheme = {
  signatureHeader: 'x-zm-signature',
  timestampHeader: 'x-zm-request-timestamp',
  defaultToleranceSeconds: 300,
};

/** Zoom: `x-zm-signature: v0=<hex>` over `v0:{x-zm-request-timestamp}:{raw body}` with the secret token. */
export function verifyZoom(request: WebhookRequest, options: VerifyOptions): VerifyResult {
  return verifyV0(scheme, request, options);
}

export interface SignZoomInput {
  body: string | Uint8Array;
  secret: string;
  /** Seconds since the epoch; defaults to now. */
  timestamp?: number;
}

export function signZoom(input: SignZoomInput): Record<string, string> {
  const timestamp = input.timestamp ?? Math.floor(Date.now() / 1000);
  return {
    'x-zm-request-timestamp': String(timestamp),
    'x-zm-signature': signV0(input.body, input.secret, timestamp),
  };
}

/**
 * Zoom's `endpoint.url_validation`: verified first, then answered with
 * `{ plainToken, encryptedToken: hex(HMAC-SHA256(secret, plainToken)) }` using the secret that verified.
 */
export function zoomHandshake(request: WebhookRequest, options: VerifyOptions): HandshakeResponse | null {
  const payload = parseJsonObject(bodyText(request.body), 4096);
  if (payload === null || payload.event !== 'endpoint.url_validation') return null;
  const inner = payload.payload;
  if (typeof inner !== 'object' || inner === null) return null;
  const plainToken = (inner as Record<string, unknown>).plainToken;
  if (typeof plainToken !== 'string' || plainToken.length === 0 || plainToken.length > 1024) return null;
  const verified = verifyZoom(request, options);
  if (!verified.ok) return null;
  const secret = options.secrets[verified.secretIndex]!;
  const encryptedToken = hmacDigest('sha256', 'hex', secret, plainToken);
  return { status: 200, contentType: 'application/json', body: JSON.stringify({ plainToken, encryptedToken }) };
}

export const zoom: ProviderVerifier = { id: 'zoom', verify: verifyZoom, handshake: zoomHandshake };
