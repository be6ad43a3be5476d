import type { VerifyOptions, VerifyResult, WebhookRequest } from '@webhooks/core';
import { type BodyHmacScheme, signBodyHmac, verifyBodyHmac } from './internal/body-hmac.js';
import type { ProviderVerifier } from './internal/verifier.js';

/**
 * The product spec's scheme for callouts that the customer's own org signs (Apex, Flow):
 * `X-Salesforce-Event-Signature: sha256=<hex>` over the raw body. Salesforce itself has no
 * native HMAC webhook; see `salesforce-outbound` and `salesforce-datacloud` for those.
 */
const scheme: BodyHmacScheme = {
  header: 'x-salesforce-event-signature',
  prefix: 'sha256=',
  encoding: 'hex',
  algorithm: 'sha256',
};

export function verifySalesforce(request: WebhookRequest, options: VerifyOptions): VerifyResult {
  return verifyBodyHmac(scheme, request, options);
}

export function signSalesforce(input: { body: string | Uint8Array; secret: string }): Record<string, string> {
  return { 'x-salesforce-event-signature': signBodyHmac(scheme, input.body, input.secret) };
}

export const salesforce: ProviderVerifier = { id: 'salesforce', verify: verifySalesforce };
