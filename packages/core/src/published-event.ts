import { WebhookError } from './errors.js';
import type { PublishedEvent } from './ports.js';

/**
 * A `webhook.received` event as JSON text, for stores that keep it in an outbox until Event Grid
 * takes it. `decodePublishedEvent` gives back the same event, its dates as Dates again.
 */
export function encodePublishedEvent(event: PublishedEvent): string {
  return JSON.stringify(event);
}

export function decodePublishedEvent(json: string): PublishedEvent {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new WebhookError('invalid_payload', 'A stored published event is not JSON');
  }
  if (!isRecord(value) || !isRecord(value.data) || !isRecord(value.data.webhook) || !isRecord(value.data.event)) {
    throw new WebhookError('invalid_payload', 'A stored published event has lost its shape');
  }
  const { webhook, event } = value.data;
  const decoded = value as unknown as PublishedEvent;
  decoded.eventTime = toDate(value.eventTime);
  decoded.data.webhook.createdAt = toDate(webhook.createdAt);
  decoded.data.webhook.updatedAt = toDate(webhook.updatedAt);
  decoded.data.event.timestamp = toDate(event.timestamp);
  return decoded;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toDate(value: unknown): Date {
  const date = new Date(typeof value === 'string' || typeof value === 'number' ? value : Number.NaN);
  if (Number.isNaN(date.getTime()))
    throw new WebhookError('invalid_payload', 'A stored published event has a bad date');
  return date;
}
