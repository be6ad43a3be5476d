import type { WebhookEvent } from '@webhooks/core';
import { invalidPayload } from './errors.js';
import type { JsonObject } from './values.js';

export interface ParseOptions {
  /** Receipt time in ms since the epoch, used when the payload carries no timestamp; default Date.now(). */
  now?: number;
}

export interface EventFields {
  eventType: string | undefined;
  entityType: string | undefined;
  entityId: string | undefined;
  data: JsonObject;
  timestamp?: Date | undefined;
  deliveryId?: string | undefined;
}

/** Ids and names end up in store keys and queue message ids; keep them bounded. */
const MAX_NAME_LENGTH = 1024;

function required(value: string | undefined, what: string): string {
  if (value === undefined || value.length === 0) throw invalidPayload(`Missing ${what}`);
  if (value.length > MAX_NAME_LENGTH) throw invalidPayload(`${what} too long`);
  return value;
}

function receiptTime(options: ParseOptions): Date {
  const date = new Date(typeof options.now === 'number' ? options.now : Date.now());
  return Number.isNaN(date.getTime()) ? new Date() : date;
}

/** Builds the normalised event; `deliveryId` is only present when the provider sent a dedupe key. */
export function makeEvent(providerId: string, fields: EventFields, options: ParseOptions = {}): WebhookEvent {
  const event: WebhookEvent = {
    providerId,
    eventType: required(fields.eventType, 'event type'),
    entityType: required(fields.entityType, 'entity type'),
    entityId: required(fields.entityId, 'entity id'),
    data: fields.data,
    timestamp: fields.timestamp ?? receiptTime(options),
  };
  if (fields.deliveryId !== undefined) event.deliveryId = required(fields.deliveryId, 'delivery id');
  return event;
}
