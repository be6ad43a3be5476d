import type { ParseRequest, WebhookEvent } from '@webhooks/core';
import { guarded, invalidPayload } from './internal/errors.js';
import { makeEvent, type ParseOptions } from './internal/event.js';
import { MAX_BATCH_ITEMS, readRequest } from './internal/request.js';
import { afterLast, type JsonObject, toDate } from './internal/values.js';
import { attribute, child, children, parseXml, type XmlElement } from './internal/xml.js';

/** Field elements become strings, `xsi:nil="true"` becomes null, nested elements nested objects. */
function fieldsOf(element: XmlElement, depth = 0): JsonObject {
  const fields: JsonObject = {};
  for (const field of element.children) {
    // `__proto__` is dropped so an element name can never reach Object.prototype.
    if (field.localName === '__proto__') continue;
    if (attribute(field, 'nil') === 'true') fields[field.localName] = null;
    else if (field.children.length > 0 && depth < 8) fields[field.localName] = fieldsOf(field, depth + 1);
    else fields[field.localName] = field.text;
  }
  return fields;
}

/**
 * Salesforce Outbound Messages: a SOAP envelope with up to 100 `Notification{Id, sObject}`. One
 * event per notification: entityType from `xsi:type` (`sf:Contact` gives `Contact`), entityId the
 * record's `Id`, deliveryId the `Notification/Id` (Salesforce resends it until acknowledged).
 * Outbound messages do not say whether a record was created or updated, so eventType is always
 * `updated`. `data` is the sObject's fields without `Id`, like the `salesforce` parser.
 */
export const parseSalesforceOutbound = guarded((request: ParseRequest, options?: ParseOptions): WebhookEvent[] => {
  const envelope = parseXml(readRequest(request).text);
  const notifications = child(child(envelope, 'Body'), 'notifications');
  if (envelope.localName !== 'Envelope' || notifications === undefined) {
    throw invalidPayload('Not a Salesforce outbound message');
  }
  const items = children(notifications, 'Notification');
  if (items.length === 0) throw invalidPayload('No notifications');
  if (items.length > MAX_BATCH_ITEMS) throw invalidPayload('Too many notifications');
  return items.map((notification) => {
    const sobject = child(notification, 'sObject');
    const type = sobject === undefined ? undefined : attribute(sobject, 'type');
    if (sobject === undefined || type === undefined) throw invalidPayload('Notification without sObject');
    const fields = fieldsOf(sobject);
    const { Id: id, ...data } = fields;
    return makeEvent(
      'salesforce-outbound',
      {
        eventType: 'updated',
        entityType: afterLast(type, ':'),
        entityId: typeof id === 'string' ? id.trim() : undefined,
        data,
        timestamp: toDate(fields.LastModifiedDate, 'ms'),
        deliveryId: child(notification, 'Id')?.text.trim(),
      },
      options,
    );
  });
});
