import { signShopify } from '../shopify.js';
import { type ProviderCase, prettyJson } from './types.js';

export const shopifyCase: ProviderCase = {
  provider: 'shopify',
  secrets: ['shpss_0123456789abcdef0123456789abcdef', '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'],
  body: prettyJson({ id: 788032119674292900, title: 'Example T-Shirt', product_type: 'Shirts' }),
  sign: ({ body, secret }) => ({
    headers: signShopify({ body, secret, webhookId: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043', topic: 'products/create' }),
    body,
  }),
  signatureHeader: 'x-shopify-hmac-sha256',
  unprovenHeaders: ['x-shopify-webhook-id', 'x-shopify-topic'],
  malformedValue: 'sha256=abc',
  bodyBound: true,
  signsAnyBytes: true,
  acceptsSeveralSignatures: true,
  usesSecrets: true,
};
