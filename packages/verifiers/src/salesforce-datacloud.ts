import type { VerifyOptions, VerifyResult, WebhookRequest } from '@webhooks/core';
import { type BodyHmacScheme, signBodyHmac, verifyBodyHmac } from './internal/body-hmac.js';
import type { ProviderVerifier } from './internal/verifier.js';

/** Data Cloud webhook data-action targets sign the raw body: `x-signature: <base64 HMAC-SHA256>`. */
const scheme: BodyHmacScheme = { header: 'x-signature', prefix: '', encoding: 'base64', algorithm: 'sha256' };

export function verifySalesforceDataCloud(request: WebhookRequest, options: VerifyOptions): VerifyResult {
  return verifyBodyHmac(scheme, request, options);
}

export function signSalesforceDataCloud(input: { body: string | Uint8Array; secret: string }): Record<string, string> {
  return { 'x-signature': signBodyHmac(scheme, input.body, input.secret) };
}

export const salesforceDataCloud: ProviderVerifier = { id: 'salesforce-datacloud', verify: verifySalesforceDataCloud };
