import type { WebhookEvent } from './types.js';

/** Header values as Node gives them: any name case, possibly repeated. */
export type HeaderMap = Record<string, string | string[] | undefined>;

export interface WebhookRequest {
  headers: HeaderMap;
  /** The raw body, exactly as received. */
  body: string | Uint8Array;
  /** The full URL the provider called (Twilio, HubSpot, Microsoft Graph, Google audience default). */
  url?: string;
  method?: string;
}

export interface GoogleVerifyOptions {
  audience?: string;
  serviceAccountEmail?: string;
  jwks?: { keys: object[] };
  jwksUri?: string;
}

export interface VerifyOptions {
  /** Every accepted secret, newest first. An empty list fails closed. */
  secrets: string[];
  /** Milliseconds since the epoch; defaults to Date.now(). */
  now?: number;
  /** Always seconds, whatever unit the provider's timestamp uses. */
  toleranceSeconds?: number;
  google?: GoogleVerifyOptions;
  salesforceOrganizationId?: string;
}

export type VerifyFailureReason =
  | 'no_secret'
  | 'missing_header'
  | 'malformed_header'
  | 'signature_mismatch'
  | 'timestamp_out_of_tolerance'
  | 'invalid_token'
  | 'unsupported_provider';

export type VerifyResult =
  | { ok: true; secretIndex: number }
  | { ok: false; reason: VerifyFailureReason; message: string };

export interface HandshakeResponse {
  status: number;
  contentType: string;
  body: string;
  /**
   * A secret the handshake hands over (Notion's verification_token), for the receiver to keep as
   * the registration's secret. Never part of what is sent back.
   */
  capturedSecret?: string;
}

/** A fixed answer a provider requires on success (Salesforce outbound messages want a SOAP Ack). */
export interface AcknowledgementBody {
  contentType: string;
  body: string;
}

export type ParseRequest = Pick<WebhookRequest, 'headers' | 'body'> & { url?: string };

export interface ParseOptions {
  /** Receipt time (ms since the epoch), for payloads that carry no timestamp of their own. */
  now?: number;
}

/** What a provider package exports (as its default export, for contributed providers). */
export interface WebhookProvider {
  /** Lower-case id, such as 'github' or 'standard-webhooks'. */
  readonly id: string;
  /** Proves the request genuine from its raw bytes. Never throws for bad input. */
  verify(request: WebhookRequest, options: VerifyOptions): Promise<VerifyResult>;
  /** Normalises a verified request. Throws WebhookError('invalid_payload') for unknown shapes. */
  parse(request: ParseRequest, options?: ParseOptions): WebhookEvent | WebhookEvent[];
  /** Answers the provider's handshake, or null when the request is not one. */
  handshake?(request: WebhookRequest, options: VerifyOptions): Promise<HandshakeResponse | null>;
  /** The provider's delivery id, when the request carries one. */
  dedupeKey?(request: ParseRequest): string | undefined;
  /** Whether the provider retries failed deliveries (decides between 429 and store-and-throttle). */
  readonly retriesDeliveries?: boolean;
  /**
   * How long the provider waits for an answer before counting the delivery failed (Slack 3 s,
   * Shopify 5 s, GitHub 10 s). The receive path gives its inline queue send at most half of it.
   */
  readonly answerWithinMs?: number;
  /** The body to answer a stored delivery with, when the provider needs a particular one. */
  readonly acknowledgement?: AcknowledgementBody;
}

const PROVIDER_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** Describes what is wrong with a value that should be a WebhookProvider; [] when nothing is. */
export function describeProviderProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null) {
    return [`expected an object, got ${value === null ? 'null' : typeof value}`];
  }
  const candidate = value as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof candidate.id !== 'string') problems.push('`id` must be a string');
  else if (!PROVIDER_ID.test(candidate.id)) {
    problems.push('`id` must be lower-case letters, digits and dashes (at most 64)');
  }
  if (typeof candidate.verify !== 'function') problems.push('`verify` must be a function');
  if (typeof candidate.parse !== 'function') problems.push('`parse` must be a function');
  for (const optional of ['handshake', 'dedupeKey'] as const) {
    if (candidate[optional] !== undefined && typeof candidate[optional] !== 'function') {
      problems.push(`\`${optional}\` must be a function when present`);
    }
  }
  const within = candidate.answerWithinMs;
  if (within !== undefined && !(typeof within === 'number' && Number.isFinite(within) && within > 0)) {
    problems.push('`answerWithinMs` must be a positive number of milliseconds when present');
  }
  return problems;
}

export function isWebhookProvider(value: unknown): value is WebhookProvider {
  return describeProviderProblems(value).length === 0;
}

/** Checks a provider's shape once, at definition, and freezes it. */
export function defineProvider<P extends WebhookProvider>(provider: P): Readonly<P> {
  const problems = describeProviderProblems(provider);
  if (problems.length > 0) {
    throw new TypeError(`Not a WebhookProvider: ${problems.join('; ')}`);
  }
  return Object.freeze(provider);
}
