import type { ParseRequest, WebhookEvent } from '@webhooks/core';
import { invalidPayload } from './errors.js';
import { makeEvent, type ParseOptions } from './event.js';
import { header } from './headers.js';
import { parseJsonObject, readRequest } from './request.js';
import { get, getId, getObject, getString, toDate } from './values.js';

/**
 * Standard Webhooks payloads `{ type: 'invoice.paid', timestamp, data: { id, ... } }`. eventType is
 * the last segment of `type` and entityType everything before it (a one-word type is both).
 * entityId is `data.id`, else `data.<entityType>_id` (`email.sent` carries `email_id`), else the
 * message id. deliveryId is the message id header (`headerNames`, first found). The timestamp is
 * the body's (ISO 8601, or a number: ms when it is that large, else seconds), else the header's.
 */
export function parseStandardPayload(
  providerId: string,
  headerNames: readonly string[],
  request: ParseRequest,
  options: ParseOptions | undefined,
): WebhookEvent {
  const { headers, text } = readRequest(request);
  const body = parseJsonObject(text);
  const type = getString(body, 'type');
  const data = getObject(body, 'data');
  if (type === undefined || data === undefined) throw invalidPayload('Not a Standard Webhooks event');
  const messageId = headerNames.map((name) => header(headers, name)).find((value) => value !== undefined);
  const dot = type.lastIndexOf('.');
  const entityType = dot === -1 ? type : type.slice(0, dot);
  const stamp = get(body, 'timestamp');
  const timestampHeader = headerNames
    .map((name) => header(headers, name.replace(/-id$/, '-timestamp')))
    .find((value) => value !== undefined);
  return makeEvent(
    providerId,
    {
      eventType: dot === -1 ? type : type.slice(dot + 1),
      entityType,
      entityId: getId(data, 'id') ?? getId(data, `${entityType}_id`) ?? messageId,
      data,
      timestamp: toDate(stamp, typeof stamp === 'number' && stamp > 1e11 ? 'ms' : 's') ?? toDate(timestampHeader, 's'),
      deliveryId: messageId,
    },
    options,
  );
}
