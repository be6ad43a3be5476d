import type { HandshakeResponse, VerifyOptions, VerifyResult, WebhookRequest } from '@webhooks/core';

/** What each provider module contributes to `verifyWebhook` and `handshakeResponse`. */
export interface ProviderVerifier {
  readonly id: string;
  verify(request: WebhookRequest, options: VerifyOptions): VerifyResult | Promise<VerifyResult>;
  /** Answers the provider's exact handshake shape only; null for anything else. */
  handshake?(
    request: WebhookRequest,
    options: VerifyOptions,
  ): HandshakeResponse | null | Promise<HandshakeResponse | null>;
}
