import type { ParseRequest, WebhookEvent } from '@webhooks/core';
import { guarded, invalidPayload } from './internal/errors.js';
import { makeEvent, type ParseOptions } from './internal/event.js';
import { parseJsonObject, readRequest } from './internal/request.js';
import { afterLast, get, getObject, getString, type JsonObject, toDate } from './internal/values.js';

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Pub/Sub `message.data`: base64 (standard or URL-safe) of UTF-8, usually JSON. */
function decodeData(encoded: string): JsonObject {
  const compact = encoded.replace(/\s+/g, '');
  if (!BASE64.test(compact)) throw invalidPayload('message.data is not base64');
  let text: string;
  try {
    text = utf8.decode(Buffer.from(compact, 'base64'));
  } catch {
    throw invalidPayload('message.data is not UTF-8');
  }
  if (!/^\s*\{/.test(text)) return { data: text };
  return parseJsonObject(text);
}

interface Entity {
  eventType?: string | undefined;
  entityType?: string | undefined;
  entityId?: string | undefined;
}

/** What the decoded message and its attributes say the change is about. */
function entityOf(data: JsonObject, attributes: JsonObject): Entity {
  // People API / Contacts: `resourceName: "people/c1234567"` gives people / c1234567.
  const resourceName = getString(data, 'resourceName');
  const slash = resourceName?.lastIndexOf('/') ?? -1;
  if (resourceName !== undefined && slash > 0) {
    return { entityType: afterLast(resourceName.slice(0, slash), '/'), entityId: resourceName.slice(slash + 1) };
  }
  // Workspace Events (CloudEvents attributes): `google.workspace.chat.message.v1.created`.
  const ceType = getString(attributes, 'ce-type');
  const ceSubject = getString(attributes, 'ce-subject');
  if (ceType !== undefined && ceSubject !== undefined) {
    const segments = ceType.split('.');
    return { eventType: segments.at(-1), entityType: segments.at(-3), entityId: afterLast(ceSubject, '/') };
  }
  // Cloud Storage notifications: `eventType: OBJECT_FINALIZE`, `bucketId`, `objectId`.
  const bucketId = getString(attributes, 'bucketId');
  const objectId = getString(attributes, 'objectId');
  if (bucketId !== undefined && objectId !== undefined) {
    return {
      eventType: getString(attributes, 'eventType')?.toLowerCase(),
      entityType: 'object',
      entityId: `${bucketId}/${objectId}`,
    };
  }
  // Gmail watch: `{ emailAddress, historyId }`: the mailbox changed.
  const emailAddress = getString(data, 'emailAddress');
  if (emailAddress !== undefined && get(data, 'historyId') !== undefined) {
    return { entityType: 'mailbox', entityId: emailAddress };
  }
  return {
    eventType: getString(attributes, 'eventType') ?? getString(data, 'eventType'),
    entityType: getString(attributes, 'entityType') ?? getString(data, 'entityType'),
    entityId: getString(attributes, 'entityId') ?? getString(data, 'id'),
  };
}

/**
 * Google Pub/Sub push `{ message: { data, attributes, messageId, publishTime }, subscription }`.
 * `data` is the decoded JSON (non-JSON text becomes `{ data: text }`). A People resource
 * (`resourceName: "people/c1234567"`) gives entityType `people` and entityId `c1234567`. Workspace
 * Events, Cloud Storage and Gmail notifications are recognised from their attributes or data;
 * anything else uses `eventType`/`entityType`/`entityId` attributes when present, else entityType
 * `message` and the message id. eventType defaults to `updated`. deliveryId is `messageId`
 * (or `message_id`), timestamp `publishTime`.
 */
export const parseGoogle = guarded((request: ParseRequest, options?: ParseOptions): WebhookEvent => {
  const body = parseJsonObject(readRequest(request).text);
  const message = getObject(body, 'message');
  if (message === undefined) throw invalidPayload('Not a Pub/Sub push message');
  const encoded = get(message, 'data');
  if (encoded !== undefined && typeof encoded !== 'string') throw invalidPayload('message.data is not a string');
  const data = encoded === undefined || encoded === '' ? {} : decodeData(encoded);
  const attributes = getObject(message, 'attributes') ?? {};
  const messageId = getString(message, 'messageId') ?? getString(message, 'message_id');
  const entity = entityOf(data, attributes);
  return makeEvent(
    'google',
    {
      eventType: entity.eventType ?? 'updated',
      entityType: entity.entityType ?? (messageId === undefined ? undefined : 'message'),
      entityId: entity.entityId ?? messageId,
      data,
      timestamp: toDate(get(message, 'publishTime') ?? get(message, 'publish_time'), 'ms'),
      deliveryId: messageId,
    },
    options,
  );
});
