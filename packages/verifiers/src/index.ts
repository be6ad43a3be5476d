import type { HandshakeResponse, VerifyOptions, VerifyResult, WebhookRequest } from '@webhooks/core';
import { github } from './github.js';
import { google } from './google.js';
import { googleCalendar } from './google-calendar.js';
import { hubspot } from './hubspot.js';
import { fail } from './internal/result.js';
import { VerifierUsageError } from './internal/usage.js';
import type { ProviderVerifier } from './internal/verifier.js';
import { linear } from './linear.js';
import { msgraph } from './msgraph.js';
import { notion } from './notion.js';
import { salesforce } from './salesforce.js';
import { salesforceDataCloud } from './salesforce-datacloud.js';
import { salesforceOutbound } from './salesforce-outbound.js';
import { shopify } from './shopify.js';
import { slack } from './slack.js';
import { standardWebhooks } from './standard-webhooks.js';
import { stripe } from './stripe.js';
import { svix } from './svix.js';
import { twilio } from './twilio.js';
import { zoom } from './zoom.js';

export type {
  GoogleVerifyOptions,
  HandshakeResponse,
  HeaderMap,
  VerifyFailureReason,
  VerifyOptions,
  VerifyResult,
  WebhookRequest,
} from '@webhooks/core';
export * from './github.js';
export * from './google.js';
export * from './google-calendar.js';
export * from './hubspot.js';
export { VerifierUsageError } from './internal/usage.js';
export type { ProviderVerifier } from './internal/verifier.js';
export * from './linear.js';
export * from './msgraph.js';
export * from './notion.js';
export * from './salesforce.js';
export * from './salesforce-datacloud.js';
export * from './salesforce-outbound.js';
export * from './shopify.js';
export * from './slack.js';
export * from './standard-webhooks.js';
export * from './stripe.js';
export * from './svix.js';
export * from './twilio.js';
export * from './zoom.js';

const verifiers = new Map<string, ProviderVerifier>(
  [
    github,
    slack,
    notion,
    salesforce,
    salesforceOutbound,
    salesforceDataCloud,
    google,
    googleCalendar,
    stripe,
    standardWebhooks,
    svix,
    shopify,
    twilio,
    hubspot,
    linear,
    zoom,
    msgraph,
  ].map((verifier) => [verifier.id, verifier]),
);

/** The provider ids `verifyWebhook` knows. */
export const PROVIDER_IDS: readonly string[] = Object.freeze([...verifiers.keys()]);

export function isSupportedProvider(provider: string): boolean {
  return verifiers.has(provider);
}

/** Whether the provider has a handshake that `handshakeResponse` can answer. */
export function hasHandshake(provider: string): boolean {
  return verifiers.get(provider)?.handshake !== undefined;
}

/**
 * Proves a webhook request genuine from its raw bytes. Resolves to `{ ok: true, secretIndex }`
 * (which of `options.secrets` matched) or `{ ok: false, reason, message }`. Never rejects for bad
 * input; throws a TypeError only for misuse (arguments of the wrong type).
 */
export function verifyWebhook(
  provider: string,
  request: WebhookRequest,
  options: VerifyOptions,
): Promise<VerifyResult> {
  try {
    assertArguments(provider, request, options);
  } catch (error) {
    return Promise.reject(error);
  }
  const verifier = verifiers.get(provider);
  if (verifier === undefined) return Promise.resolve(fail('unsupported_provider', 'This provider is not supported'));
  // Not an async function: most verifiers are synchronous, and this saves their callers a few ticks.
  try {
    const result = verifier.verify(request, options);
    return result instanceof Promise ? result.catch(failClosed) : Promise.resolve(result);
  } catch (error) {
    return failClosed(error);
  }
}

/** An unexpected error must never turn into acceptance or a crash; misuse still throws. */
function failClosed(error: unknown): Promise<VerifyResult> {
  if (error instanceof VerifierUsageError) return Promise.reject(error);
  return Promise.resolve(fail('malformed_header', 'The request could not be verified'));
}

/**
 * The answer to a provider's handshake (Slack url_verification, Zoom endpoint.url_validation,
 * Microsoft Graph validationToken, Notion verification_token, Google Calendar sync), or null when
 * the request is not exactly one. Signed handshakes are verified first.
 */
export async function handshakeResponse(
  provider: string,
  request: WebhookRequest,
  options: VerifyOptions,
): Promise<HandshakeResponse | null> {
  assertArguments(provider, request, options);
  const verifier = verifiers.get(provider);
  if (verifier?.handshake === undefined) return null;
  try {
    return await verifier.handshake(request, options);
  } catch (error) {
    if (error instanceof VerifierUsageError) throw error;
    return null;
  }
}

function assertArguments(provider: unknown, request: unknown, options: unknown): void {
  if (typeof provider !== 'string') throw new VerifierUsageError('provider must be a string');
  if (typeof request !== 'object' || request === null) throw new VerifierUsageError('request must be an object');
  const { headers, body } = request as Partial<WebhookRequest>;
  if (typeof headers !== 'object' || headers === null)
    throw new VerifierUsageError('request.headers must be an object');
  if (typeof body !== 'string' && !(body instanceof Uint8Array)) {
    throw new VerifierUsageError('request.body must be the raw body as a string or Uint8Array');
  }
  if (typeof options !== 'object' || options === null) throw new VerifierUsageError('options must be an object');
  const { secrets, now, toleranceSeconds } = options as Partial<VerifyOptions>;
  if (!Array.isArray(secrets)) throw new VerifierUsageError('options.secrets must be an array of strings');
  for (const secret of secrets) {
    if (typeof secret !== 'string') throw new VerifierUsageError('options.secrets must be an array of strings');
  }
  if (now !== undefined && !Number.isFinite(now)) throw new VerifierUsageError('options.now must be a number of ms');
  if (toleranceSeconds !== undefined && !(Number.isFinite(toleranceSeconds) && toleranceSeconds >= 0)) {
    throw new VerifierUsageError('options.toleranceSeconds must be a non-negative number');
  }
}
