import type { HandshakeResponse, VerifyOptions, VerifyResult, WebhookRequest } from '@webhooks/core';
import { bodyText } from './internal/crypto.js';
import { parseJsonObject } from './internal/json.js';
import { signV0, type V0Scheme, verifyV0 } from './internal/v0-scheme.js';
import type { ProviderVerifier } from './internal/verifier.js';

const scheme: V0Scheme = {
  signatureHeader: 'x-slack-signature',
  timestampHeader: 'x-slack-request-timestamp',
  defaultToleranceSeconds: 300,
};

/** Slack: `X-Slack-Signature: v0=<hex>` over `v0:{X-Slack-Request-Timestamp}:{raw body}`, 5 minutes. */
export function verifySlack(request: WebhookRequest, options: VerifyOptions): VerifyResult {
  return verifyV0(scheme, request, options);
}

export interface SignSlackInput {
  body: string | Uint8Array;
  secret: string;
  /** Seconds since the epoch; defaults to now. */
  timestamp?: number;
}

export function signSlack(input: SignSlackInput): Record<string, string> {
  const timestamp = input.timestamp ?? Math.floor(Date.now() / 1000);
  return {
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': signV0(input.body, input.secret, timestamp),
  };
}

/**
 * Slack's `url_verification`: answered with the challenge only when signed, so an unsigned
 * request can never make the receiver echo attacker-chosen text.
 */
export function slackHandshake(request: WebhookRequest, options: VerifyOptions): HandshakeResponse | null {
  const payload = parseJsonObject(bodyText(request.body), 4096);
  if (payload === null || payload.type !== 'url_verification') return null;
  const challenge = payload.challenge;
  if (typeof challenge !== 'string' || challenge.length === 0 || challenge.length > 1024) return null;
  if (!verifySlack(request, options).ok) return null;
  return { status: 200, contentType: 'text/plain; charset=utf-8', body: challenge };
}

export const slack: ProviderVerifier = { id: 'slack', verify: verifySlack, handshake: slackHandshake };
