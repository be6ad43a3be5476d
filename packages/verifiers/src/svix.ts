import type { VerifyOptions, VerifyResult, WebhookRequest } from '@webhooks/core';
import { type SignStandardInput, signStandard, verifyStandard } from './internal/standard.js';
import type { ProviderVerifier } from './internal/verifier.js';

// Svix sends `svix-*` headers; senders on newer Svix versions send the Standard Webhooks names.
const PREFIXES = ['svix', 'webhook'] as const;

/** Svix: the Standard Webhooks scheme under `svix-id`, `svix-timestamp`, `svix-signature`. */
export function verifySvix(request: WebhookRequest, options: VerifyOptions): VerifyResult {
  return verifyStandard(PREFIXES, request, options);
}

export type SignSvixInput = SignStandardInput;

export function signSvix(input: SignSvixInput): Record<string, string> {
  return signStandard('svix', input);
}

export const svix: ProviderVerifier = { id: 'svix', verify: verifySvix };
