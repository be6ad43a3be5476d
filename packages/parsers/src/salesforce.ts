import type { ParseRequest, WebhookEvent } from '@webhooks/core';
import { guarded, invalidPayload } from './internal/errors.js';
import { makeEvent, type ParseOptions } from './internal/event.js';
import { parseJsonObject, readRequest } from './internal/request.js';
import { get, getId, getObject, getString, omit, toDate } from './internal/values.js';

/**
 * The product spec's Salesforce scheme (Apex/Flow callouts signed by the customer's org):
 * `{ action, sobject: { name, fields: { Id, ... } } }`. `data` is the fields without `Id`, as in
 * the spec. No delivery id is sent, so `deliveryId` stays undefined (the service hashes the
 * signed bytes instead).
 */
export const parseSalesforce = guarded((request: ParseRequest, options?: ParseOptions): WebhookEvent => {
  const body = parseJsonObject(readRequest(request).text);
  const sobject = getObject(body, 'sobject');
  const fields = sobject === undefined ? undefined : getObject(sobject, 'fields');
  if (sobject === undefined || fields === undefined) throw invalidPayload('Not a Salesforce event');
  return makeEvent(
    'salesforce',
    {
      eventType: getString(body, 'action'),
      entityType: getString(sobject, 'name'),
      entityId: getId(fields, 'Id'),
      data: omit(fields, 'Id'),
      timestamp: toDate(get(fields, 'LastModifiedDate'), 'ms'),
    },
    options,
  );
});
