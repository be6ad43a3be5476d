import type { ParseRequest, WebhookEvent } from '@webhooks/core';
import { guarded, invalidPayload } from './internal/errors.js';
import { makeEvent, type ParseOptions } from './internal/event.js';
import { parseJsonObject, readRequest } from './internal/request.js';
import { afterLast, get, getId, getObject, getString, toDate } from './internal/values.js';

/**
 * Stripe events `{ id: 'evt_...', type: 'customer.subscription.created', created, data: { object } }`:
 * eventType the last segment of `type`, entityType the object's own `object` (`subscription`),
 * entityId its `id` (objects without one, such as `balance`, use the event id), data the object,
 * deliveryId the event `id`, timestamp `created` (seconds). Thin events (API v2,
 * `object: 'v2.core.event'`) have no snapshot: entity from `related_object`, data `{}`.
 */
export const parseStripe = guarded((request: ParseRequest, options?: ParseOptions): WebhookEvent => {
  const body = parseJsonObject(readRequest(request).text);
  const id = getString(body, 'id');
  const type = getString(body, 'type');
  const related = getObject(body, 'related_object');
  const object = getObject(getObject(body, 'data') ?? {}, 'object');
  if (object === undefined && related === undefined) throw invalidPayload('Not a Stripe event');
  const entity = object ?? related ?? {};
  return makeEvent(
    'stripe',
    {
      eventType: type === undefined ? undefined : afterLast(type, '.'),
      entityType: getString(entity, object === undefined ? 'type' : 'object'),
      entityId: getId(entity, 'id') ?? id,
      data: object ?? {},
      timestamp: toDate(get(body, 'created'), 's'),
      deliveryId: id,
    },
    options,
  );
});
