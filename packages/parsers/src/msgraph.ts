import { createHash } from 'node:crypto';
import type { ParseRequest, WebhookEvent } from '@webhooks/core';
import { guarded, invalidPayload } from './internal/errors.js';
import { makeEvent, type ParseOptions } from './internal/event.js';
import { MAX_BATCH_ITEMS, parseJsonObject, readRequest } from './internal/request.js';
import {
  afterLast,
  getArray,
  getId,
  getObject,
  getString,
  isObject,
  type JsonObject,
  omit,
  singular,
} from './internal/values.js';

/** `#Microsoft.Graph.Message` gives `message`; `#microsoft.graph.chatMessage` gives `chatMessage`. */
function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/**
 * The collection the resource path names: `Users/{id}/Messages/{id}` gives `message`,
 * `teams('a')/channels('b')/messages('c')` gives `message`, `me/events` gives `event`.
 */
function entityTypeFromResource(resource: string, id: string | undefined): string | undefined {
  const segments = resource.split('/').filter((segment) => segment.length > 0);
  let last = segments.pop();
  if (last !== undefined && id !== undefined && last.toLowerCase() === id.toLowerCase()) last = segments.pop();
  const name = last?.replace(/\(.*$/, '');
  return name === undefined || name.length === 0 ? undefined : lowerFirst(singular(name));
}

/** Graph sends no delivery id. A digest of what identifies one version of one change, see README. */
function digest(parts: string[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

function parseItem(item: unknown, options: ParseOptions | undefined): WebhookEvent {
  if (!isObject(item)) throw invalidPayload('Graph notification is not an object');
  // clientState is the registration's shared secret: it must never travel on as event data.
  const data: JsonObject = omit(item, 'clientState');
  const subscriptionId = getString(item, 'subscriptionId');
  const lifecycleEvent = getString(item, 'lifecycleEvent');
  if (subscriptionId === undefined) throw invalidPayload('Missing Graph subscriptionId');
  if (lifecycleEvent !== undefined) {
    // Repeated lifecycle notices are byte-identical too, so they get no dedupe key either.
    return makeEvent(
      'msgraph',
      { eventType: lifecycleEvent, entityType: 'subscription', entityId: subscriptionId, data },
      options,
    );
  }
  const resource = getString(item, 'resource');
  const changeType = getString(item, 'changeType');
  const resourceData = getObject(item, 'resourceData') ?? {};
  const id = getId(resourceData, 'id');
  const odataType = getString(resourceData, '@odata.type');
  const etag = getString(resourceData, '@odata.etag');
  if (resource === undefined || changeType === undefined) throw invalidPayload('Not a Graph change notification');
  return makeEvent(
    'msgraph',
    {
      eventType: changeType,
      entityType:
        odataType === undefined ? entityTypeFromResource(resource, id) : lowerFirst(afterLast(odataType, '.')),
      entityId: id ?? resource,
      data,
      // Without an etag two updates of one resource look identical: no key, rather than a lost update.
      deliveryId: etag === undefined ? undefined : digest([subscriptionId, changeType, resource, etag]),
    },
    options,
  );
}

/**
 * Microsoft Graph change notifications `{ value: [{ subscriptionId, changeType, resource,
 * resourceData, clientState }] }`: one event per item, always an array. eventType `changeType`,
 * entityType from `resourceData['@odata.type']` (else the resource path), entityId
 * `resourceData.id`, data the item without `clientState`. Lifecycle notifications give
 * entityType `subscription` and eventType the `lifecycleEvent`. A validation request
 * (`?validationToken=`) is a handshake: invalid_payload with reason `handshake`.
 */
export const parseMsGraph = guarded((request: ParseRequest, options?: ParseOptions): WebhookEvent[] => {
  const { text, url } = readRequest(request);
  if (text.trim() === '' && url !== undefined && /[?&]validationToken=/.test(url)) {
    throw invalidPayload('Graph validation request is a handshake, not an event', 'handshake');
  }
  const items = getArray(parseJsonObject(text), 'value');
  if (items === undefined || items.length === 0) throw invalidPayload('No Graph notifications');
  if (items.length > MAX_BATCH_ITEMS) throw invalidPayload('Too many notifications');
  return items.map((item) => parseItem(item, options));
});
