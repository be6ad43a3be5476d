import type { HandshakeResponse, VerifyOptions, VerifyResult, WebhookRequest } from '@webhooks/core';
import { type BodyHmacScheme, signBodyHmac, verifyBodyHmac } from './internal/body-hmac.js';
import { bodyText } from './internal/crypto.js';
import { headerValues } from './internal/headers.js';
import { parseJsonObject } from './internal/json.js';
import type { ProviderVerifier } from './internal/verifier.js';

/**
 * Notion signs the raw body with the subscription's whole `verification_token` (`secret_...`):
 * `X-Notion-Signature: sha256=<hex>`. There is no timestamp header; dedupe on the body's `id`.
 */
const scheme: BodyHmacScheme = {
  header: 'x-notion-signature',
  prefix: 'sha256=',
  encoding: 'hex',
  algorithm: 'sha256',
};

export function verifyNotion(request: WebhookRequest, options: VerifyOptions): VerifyResult {
  return verifyBodyHmac(scheme, request, options);
}

export function signNotion(input: { body: string | Uint8Array; secret: string }): Record<string, string> {
  return { 'x-notion-signature': signBodyHmac(scheme, input.body, input.secret) };
}

const TOKEN = /^secret_[A-Za-z0-9_-]{1,200}$/;

/**
 * The token of Notion's one-time verification request (`{"verification_token":"secret_..."}`),
 * or null when the request is not exactly that. The receiver captures it as the registration's
 * secret and shows it to the operator, who pastes it back into Notion to finish the setup.
 */
export function notionVerificationToken(request: WebhookRequest): string | null {
  const payload = parseJsonObject(bodyText(request.body), 1024);
  if (payload === null) return null;
  const keys = Object.keys(payload);
  const token = payload.verification_token;
  if (keys.length !== 1 || typeof token !== 'string' || !TOKEN.test(token)) return null;
  // When the request carries a signature it must be the token's own; a wrong one is not Notion.
  if (headerValues(request.headers, scheme.header).length > 0) {
    if (!verifyBodyHmac(scheme, request, { secrets: [token] }).ok) return null;
  }
  return token;
}

/** Answers the verification request and hands the token over as `capturedSecret`. */
export function notionHandshake(request: WebhookRequest): HandshakeResponse | null {
  const token = notionVerificationToken(request);
  return token === null ? null : { status: 200, contentType: 'application/json', body: '{}', capturedSecret: token };
}

export const notion: ProviderVerifier = { id: 'notion', verify: verifyNotion, handshake: notionHandshake };
