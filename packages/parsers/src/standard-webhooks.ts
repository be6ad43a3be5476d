import type { ParseRequest, WebhookEvent } from '@webhooks/core';
import { guarded } from './internal/errors.js';
import type { ParseOptions } from './internal/event.js';
import { parseStandardPayload } from './internal/standard.js';

/**
 * Standard Webhooks `{ type: 'invoice.paid', timestamp, data: { id, ... } }`: eventType the last
 * segment of `type`, entityType everything before it, entityId `data.id` (else
 * `data.<entityType>_id`, else the message id), data `data`, deliveryId `webhook-id`.
 */
export const parseStandardWebhooks = guarded(
  (request: ParseRequest, options?: ParseOptions): WebhookEvent =>
    parseStandardPayload('standard-webhooks', ['webhook-id'], request, options),
);
