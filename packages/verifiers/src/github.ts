import type { VerifyOptions, VerifyResult, WebhookRequest } from '@webhooks/core';
import { type BodyHmacScheme, signBodyHmac, verifyBodyHmac } from './internal/body-hmac.js';
import type { ProviderVerifier } from './internal/verifier.js';

/** GitHub signs the raw body with HMAC-SHA256 and sends `X-Hub-Signature-256: sha256=<hex>`. */
const scheme: BodyHmacScheme = {
  header: 'x-hub-signature-256',
  prefix: 'sha256=',
  encoding: 'hex',
  algorithm: 'sha256',
};

export function verifyGitHub(request: WebhookRequest, options: VerifyOptions): VerifyResult {
  return verifyBodyHmac(scheme, request, options);
}

export interface SignGitHubInput {
  body: string | Uint8Array;
  secret: string;
  /** The delivery id; GitHub sends the same one on a redelivery. */
  deliveryId?: string;
  event?: string;
}

/** Headers GitHub would send with this body. */
export function signGitHub(input: SignGitHubInput): Record<string, string> {
  const headers: Record<string, string> = { 'x-hub-signature-256': signBodyHmac(scheme, input.body, input.secret) };
  if (input.deliveryId !== undefined) headers['x-github-delivery'] = input.deliveryId;
  if (input.event !== undefined) headers['x-github-event'] = input.event;
  return headers;
}

export const github: ProviderVerifier = { id: 'github', verify: verifyGitHub };
