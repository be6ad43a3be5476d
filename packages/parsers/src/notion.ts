import type { ParseRequest, WebhookEvent } from '@webhooks/core';
import { guarded, invalidPayload } from './internal/errors.js';
import { makeEvent, type ParseOptions } from './internal/event.js';
import { parseJsonObject, readRequest } from './internal/request.js';
import { get, getId, getObject, getString, toDate } from './internal/values.js';

/** `page.created` gives `created`; `page.properties_updated` gives `properties_updated`. */
function verb(type: string | undefined): string | undefined {
  if (type === undefined) return undefined;
  const dot = type.indexOf('.');
  return dot === -1 ? type : type.slice(dot + 1);
}

/**
 * Notion. The real shape `{ id, timestamp, type: 'page.created', entity: { id, type }, data }`
 * gives eventType the part of `type` after the first dot, entityType/entityId from `entity`,
 * data the body's `data`, deliveryId the body `id` (Notion's dedupe key) and timestamp the body's.
 * The spec's shape `{ type, object, id, properties }` gives entityType `object`, entityId `id`
 * and data `properties`; its `id` names the page, not the delivery, so deliveryId stays undefined.
 * The one-time `{ verification_token }` request is a handshake: invalid_payload, reason `handshake`.
 */
export const parseNotion = guarded((request: ParseRequest, options?: ParseOptions): WebhookEvent => {
  const body = parseJsonObject(readRequest(request).text);
  if (getString(body, 'verification_token') !== undefined && getString(body, 'type') === undefined) {
    throw invalidPayload('Notion verification request is a handshake, not an event', 'handshake');
  }
  const type = getString(body, 'type');
  const entity = getObject(body, 'entity');
  if (entity !== undefined) {
    return makeEvent(
      'notion',
      {
        eventType: verb(type),
        entityType: getString(entity, 'type'),
        entityId: getId(entity, 'id'),
        data: getObject(body, 'data') ?? {},
        timestamp: toDate(get(body, 'timestamp'), 'ms'),
        deliveryId: getId(body, 'id'),
      },
      options,
    );
  }
  const object = getString(body, 'object');
  if (object === undefined) throw invalidPayload('Not a Notion event');
  return makeEvent(
    'notion',
    {
      eventType: verb(type),
      entityType: object,
      entityId: getId(body, 'id'),
      data: getObject(body, 'properties') ?? {},
      timestamp: toDate(get(body, 'last_edited_time'), 'ms'),
    },
    options,
  );
});
