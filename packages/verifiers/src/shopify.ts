import type { VerifyOptions, VerifyResult, WebhookRequest } from '@webhooks/core';
import { type BodyHmacScheme, signBodyHmac, verifyBodyHmac } from './internal/body-hmac.js';
import type { ProviderVerifier } from './internal/verifier.js';

/** Shopify signs the raw body with the app's client secret: `X-Shopify-Hmac-Sha256: <base64>`. */
const scheme: BodyHmacScheme = { header: 'x-shopify-hmac-sha256', prefix: '', encoding: 'base64', algorithm: 'sha256' };

export function verifyShopify(request: WebhookRequest, options: VerifyOptions): VerifyResult {
  return verifyBodyHmac(scheme, request, options);
}

export interface SignShopifyInput {
  body: string | Uint8Array;
  secret: string;
  webhookId?: string;
  topic?: string;
  shopDomain?: string;
}

export function signShopify(input: SignShopifyInput): Record<string, string> {
  const headers: Record<string, string> = { 'x-shopify-hmac-sha256': signBodyHmac(scheme, input.body, input.secret) };
  if (input.webhookId !== undefined) headers['x-shopify-webhook-id'] = input.webhookId;
  if (input.topic !== undefined) headers['x-shopify-topic'] = input.topic;
  if (input.shopDomain !== undefined) headers['x-shopify-shop-domain'] = input.shopDomain;
  return headers;
}

export const shopify: ProviderVerifier = { id: 'shopify', verify: verifyShopify };
