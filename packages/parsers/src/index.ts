import { type ParseRequest, WebhookError, type WebhookEvent } from '@webhooks/core';
import { parseGitHub } from './github.js';
import { parseGoogle } from './google.js';
import { parseGoogleCalendar } from './google-calendar.js';
import { parseHubSpot } from './hubspot.js';
import type { ParseOptions } from './internal/event.js';
import { parseLinear } from './linear.js';
import { parseMsGraph } from './msgraph.js';
import { parseNotion } from './notion.js';
import { parseSalesforce } from './salesforce.js';
import { parseSalesforceDataCloud } from './salesforce-datacloud.js';
import { parseSalesforceOutbound } from './salesforce-outbound.js';
import { parseShopify } from './shopify.js';
import { parseSlack } from './slack.js';
import { parseStandardWebhooks } from './standard-webhooks.js';
import { parseStripe } from './stripe.js';
import { parseSvix } from './svix.js';
import { parseTwilio } from './twilio.js';
import { parseZoom } from './zoom.js';

export type { ParseRequest, WebhookEvent } from '@webhooks/core';
export * from './github.js';
export * from './google.js';
export * from './google-calendar.js';
export * from './hubspot.js';
export type { ParseOptions } from './internal/event.js';
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

/** Turns one verified request into the provider's normalised event(s). Throws only WebhookError. */
export type ProviderParser = (request: ParseRequest, options?: ParseOptions) => WebhookEvent | WebhookEvent[];

// A Map, not an object literal: `__proto__` or `constructor` as a provider id is just unsupported.
const parsers = new Map<string, ProviderParser>([
  ['github', parseGitHub],
  ['slack', parseSlack],
  ['notion', parseNotion],
  ['salesforce', parseSalesforce],
  ['salesforce-outbound', parseSalesforceOutbound],
  ['salesforce-datacloud', parseSalesforceDataCloud],
  ['google', parseGoogle],
  ['google-calendar', parseGoogleCalendar],
  ['stripe', parseStripe],
  ['standard-webhooks', parseStandardWebhooks],
  ['svix', parseSvix],
  ['shopify', parseShopify],
  ['twilio', parseTwilio],
  ['hubspot', parseHubSpot],
  ['linear', parseLinear],
  ['zoom', parseZoom],
  ['msgraph', parseMsGraph],
]);

/** The provider ids `parseWebhook` knows. */
export const PARSER_PROVIDER_IDS: readonly string[] = Object.freeze([...parsers.keys()]);

/**
 * Normalises a verified webhook request. Batch providers (HubSpot, Microsoft Graph, Salesforce
 * outbound messages, Data Cloud, Twilio Event Streams) give an array, one event per item.
 * Throws WebhookError `unsupported_provider` for an unknown id and `invalid_payload` for a body
 * that is not the provider's event (reason `handshake` when it is the provider's handshake).
 */
export function parseWebhook(
  provider: string,
  request: ParseRequest,
  options?: ParseOptions,
): WebhookEvent | WebhookEvent[] {
  const parse = typeof provider === 'string' ? parsers.get(provider) : undefined;
  if (parse === undefined) throw new WebhookError('unsupported_provider', 'Unsupported provider');
  return parse(request, options);
}
