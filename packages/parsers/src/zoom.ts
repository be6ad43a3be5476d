import type { ParseRequest, WebhookEvent } from '@webhooks/core';
import { guarded, invalidPayload } from './internal/errors.js';
import { makeEvent, type ParseOptions } from './internal/event.js';
import { parseJsonObject, readRequest } from './internal/request.js';
import { get, getId, getObject, getString, toDate } from './internal/values.js';

/**
 * Zoom `{ event: 'meeting.participant_joined', event_ts, payload: { account_id, object: { id } } }`:
 * entityType the part of `event` before the first dot, eventType the rest, entityId
 * `payload.object.id` (else its `uuid`), data `payload.object`, timestamp `event_ts` (ms). Zoom
 * sends no documented delivery id (retries repeat the body), so deliveryId stays undefined.
 * `endpoint.url_validation` is a handshake: invalid_payload with reason `handshake`.
 */
export const parseZoom = guarded((request: ParseRequest, options?: ParseOptions): WebhookEvent => {
  const body = parseJsonObject(readRequest(request).text);
  const event = getString(body, 'event');
  if (event === 'endpoint.url_validation') {
    throw invalidPayload('Zoom url_validation is a handshake, not an event', 'handshake');
  }
  const object = getObject(getObject(body, 'payload') ?? {}, 'object');
  const dot = event?.indexOf('.') ?? -1;
  if (event === undefined || dot <= 0 || object === undefined) throw invalidPayload('Not a Zoom event');
  return makeEvent(
    'zoom',
    {
      eventType: event.slice(dot + 1),
      entityType: event.slice(0, dot),
      entityId: getId(object, 'id') ?? getString(object, 'uuid'),
      data: object,
      timestamp: toDate(get(body, 'event_ts'), 'ms'),
    },
    options,
  );
});
