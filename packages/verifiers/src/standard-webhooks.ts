import type { VerifyOptions, VerifyResult, WebhookRequest } from '@webhooks/core';
import { type SignStandardInput, signStandard, verifyStandard } from './internal/standard.js';
import type { ProviderVerifier } from './internal/verifier.js';

const PREFIXES = ['webhook'] as const;

/** Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>`. */
export function verifyStandardWebhooks(request: WebhookRequest, options: VerifyOptions): VerifyResult {
  return verifyStandard(PREFIXES, request, options);
}

export type SignStandardWebhooksInput = SignStandardInput;

export function signStandardWebhooks(input: SignStandardWebhooksInput): Record<string, string> {
  return signStandard('webhook', input);
}

export const standardWebhooks: ProviderVerifier = { id: 'standard-webhooks', verify: verifyStandardWebhooks };
