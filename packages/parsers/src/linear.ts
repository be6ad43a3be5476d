import type { ParseRequest, WebhookEvent } from '@webhooks/core';
import { guarded, invalidPayload } from './internal/errors.js';
import { makeEvent, type ParseOptions } from './internal/event.js';
import { header } from './internal/headers.js';
import { parseJsonObject, readRequest } from './internal/request.js';
import { get, getId, getObject, getString, toDate } from './internal/values.js';

/**
 * Linear `{ action: 'create', type: 'Issue', data: { id, ... }, webhookTimestamp, webhookId }`:
 * eventType `action`, entityType `type` as sent (`Issue`; matching is case-insensitive), entityId
 * `data.id` (app notifications: `notification.id`; OAuth revocations: the organization id),
 * data the `data` object, deliveryId the `Linear-Delivery` header (`webhookId` names the webhook,
 * not the delivery), timestamp `webhookTimestamp` (ms), else `createdAt`.
 */
export const parseLinear = guarded((request: ParseRequest, options?: ParseOptions): WebhookEvent => {
  const { headers, text } = readRequest(request);
  const body = parseJsonObject(text);
  const action = getString(body, 'action');
  const type = getString(body, 'type');
  if (action === undefined || type === undefined) throw invalidPayload('Not a Linear event');
  const entity = getObject(body, 'data') ?? getObject(body, 'notification');
  return makeEvent(
    'linear',
    {
      eventType: action,
      entityType: type,
      entityId: (entity === undefined ? undefined : getId(entity, 'id')) ?? getString(body, 'organizationId'),
      data: entity ?? {},
      timestamp: toDate(get(body, 'webhookTimestamp'), 'ms') ?? toDate(get(body, 'createdAt'), 'ms'),
      deliveryId: header(headers, 'linear-delivery'),
    },
    options,
  );
});
