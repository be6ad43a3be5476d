import { defineProvider, WebhookError, type WebhookProvider } from '@webhooks/core';
import { parseWebhook } from '@webhooks/parsers';
import {
  handshakeResponse,
  hasHandshake,
  PROVIDER_IDS,
  SALESFORCE_OUTBOUND_ACK,
  verifyWebhook,
} from '@webhooks/verifiers';

/**
 * Whether each built-in provider retries a failed delivery. Only for those is a 429 safe: GitHub
 * never retries, so refusing its delivery loses the event (its over-limit deliveries are stored and
 * their sync tasks released later instead).
 */
const RETRIES: Record<string, boolean> = {
  github: false,
  slack: true,
  notion: true,
  salesforce: false,
  'salesforce-outbound': true,
  'salesforce-datacloud': false,
  google: true,
  'google-calendar': true,
  stripe: true,
  'standard-webhooks': true,
  svix: true,
  shopify: true,
  twilio: false,
  hubspot: true,
  linear: true,
  zoom: true,
  msgraph: true,
};

/**
 * How long each provider waits for an answer, where it says (PROVIDERS.md; Zoom and Microsoft Graph
 * ask for an answer within 3 s too).
 */
const ANSWER_WITHIN_MS: Record<string, number> = {
  github: 10_000,
  slack: 3000,
  shopify: 5000,
  google: 10_000,
  'standard-webhooks': 15_000,
  svix: 15_000,
  zoom: 3000,
  msgraph: 3000,
};

function builtin(id: string): WebhookProvider {
  const provider: { -readonly [K in keyof WebhookProvider]: WebhookProvider[K] } = {
    id,
    verify: (request, options) => verifyWebhook(id, request, options),
    parse: (request, options) => parseWebhook(id, request, options),
    retriesDeliveries: RETRIES[id] ?? false,
  };
  const answerWithinMs = ANSWER_WITHIN_MS[id];
  if (answerWithinMs !== undefined) provider.answerWithinMs = answerWithinMs;
  if (hasHandshake(id)) provider.handshake = (request, options) => handshakeResponse(id, request, options);
  // Salesforce retries an outbound message for 24 h unless it gets its SOAP Ack.
  if (id === 'salesforce-outbound') {
    return defineProvider({
      ...provider,
      acknowledgement: { contentType: SALESFORCE_OUTBOUND_ACK.contentType, body: SALESFORCE_OUTBOUND_ACK.body },
    });
  }
  return defineProvider(provider);
}

/** The providers a service knows: the built-in ones plus any contributed provider. */
export class ProviderRegistry {
  readonly #providers = new Map<string, WebhookProvider>();

  constructor(extra: readonly WebhookProvider[] = []) {
    for (const id of PROVIDER_IDS) this.#providers.set(id, builtin(id));
    for (const provider of extra) this.add(provider);
  }

  /** Adds a contributed provider; its id may replace a built-in one on purpose. */
  add(provider: WebhookProvider): void {
    this.#providers.set(provider.id, defineProvider(provider));
  }

  get(id: string): WebhookProvider | undefined {
    return this.#providers.get(id);
  }

  require(id: string): WebhookProvider {
    const provider = this.#providers.get(id);
    if (!provider) throw new WebhookError('unsupported_provider', `Unknown provider: ${id.slice(0, 64)}`);
    return provider;
  }

  ids(): string[] {
    return [...this.#providers.keys()];
  }
}
