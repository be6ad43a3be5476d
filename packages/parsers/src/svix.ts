import type { ParseRequest, WebhookEvent } from '@webhooks/core';
import { guarded } from './internal/errors.js';
import type { ParseOptions } from './internal/event.js';
import { parseStandardPayload } from './internal/standard.js';

/**
 * Svix (Clerk, Resend and other senders): the Standard Webhooks payload, deliveryId from
 * `svix-id` (or `webhook-id`, which newer Svix deliveries also send).
 */
export const parseSvix = guarded(
  (request: ParseRequest, options?: ParseOptions): WebhookEvent =>
    parseStandardPayload('svix', ['svix-id', 'webhook-id'], request, options),
);
