import type { ParseRequest, WebhookEvent } from '@webhooks/core';
import { guarded, invalidPayload } from './internal/errors.js';
import { makeEvent, type ParseOptions } from './internal/event.js';
import { MAX_BATCH_ITEMS, parseJson, readRequest } from './internal/request.js';
import { get, getId, getString, isObject, type JsonObject, toDate } from './internal/values.js';

/** Standard object type ids of the generic `object.*` subscriptions. */
const OBJECT_TYPES = new Map([
  ['0-1', 'contact'],
  ['0-2', 'company'],
  ['0-3', 'deal'],
  ['0-5', 'ticket'],
  ['0-7', 'product'],
  ['0-8', 'line_item'],
  ['0-14', 'quote'],
]);

function parseItem(item: unknown, options: ParseOptions | undefined): WebhookEvent {
  if (!isObject(item)) throw invalidPayload('HubSpot event is not an object');
  const subscriptionType = getString(item, 'subscriptionType');
  const dot = subscriptionType?.indexOf('.') ?? -1;
  if (subscriptionType === undefined || dot <= 0) throw invalidPayload('Missing HubSpot subscriptionType');
  let entityType = subscriptionType.slice(0, dot);
  if (entityType === 'object') {
    const typeId = getString(item, 'objectTypeId');
    entityType = typeId === undefined ? entityType : (OBJECT_TYPES.get(typeId) ?? typeId);
  }
  return makeEvent(
    'hubspot',
    {
      eventType: subscriptionType.slice(dot + 1),
      entityType,
      // Association changes name both ends; the `from` object is the one whose record changed.
      entityId: getId(item, 'objectId') ?? getId(item, 'fromObjectId'),
      data: item,
      timestamp: toDate(get(item, 'occurredAt'), 'ms'),
      // HubSpot documents eventId as not guaranteed unique on its own; with the subscription it is.
      deliveryId: hubspotDeliveryId(item),
    },
    options,
  );
}

function hubspotDeliveryId(item: JsonObject): string | undefined {
  const eventId = getId(item, 'eventId');
  if (eventId === undefined) return undefined;
  const subscriptionId = getId(item, 'subscriptionId');
  return subscriptionId === undefined ? eventId : `${subscriptionId}:${eventId}`;
}

/**
 * HubSpot: a JSON array of up to 100 events; one WebhookEvent per item, always returned as an
 * array. `contact.creation` gives entityType `contact` and eventType `creation` (generic
 * `object.*` subscriptions use `objectTypeId`); entityId `objectId`; deliveryId `subscriptionId:eventId`;
 * timestamp `occurredAt` (ms); data the item. One malformed item rejects the whole delivery.
 */
export const parseHubSpot = guarded((request: ParseRequest, options?: ParseOptions): WebhookEvent[] => {
  const body = parseJson(readRequest(request).text);
  if (!Array.isArray(body)) throw invalidPayload('HubSpot body is not an array');
  if (body.length === 0) throw invalidPayload('No HubSpot events');
  if (body.length > MAX_BATCH_ITEMS) throw invalidPayload('Too many events');
  return body.map((item) => parseItem(item, options));
});
