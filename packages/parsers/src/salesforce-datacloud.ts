import type { ParseRequest, WebhookEvent } from '@webhooks/core';
import { guarded, invalidPayload } from './internal/errors.js';
import { makeEvent, type ParseOptions } from './internal/event.js';
import { MAX_BATCH_ITEMS, parseJson, parseJsonObject, readRequest } from './internal/request.js';
import { get, getArray, getId, getString, isObject, type JsonObject, toDate } from './internal/values.js';

/** DML trigger of the data action, as Salesforce names it, to the verbs registrations use. */
const EVENT_TYPES = new Map([
  ['INSERT', 'created'],
  ['UPDATE', 'updated'],
  ['DELETE', 'deleted'],
]);

/** Candidate primary keys of a Data Cloud record, most specific first. */
const ID_FIELDS = ['ssot__Id__c', 'Id__c', 'Id', 'id'];

/** Data Cloud sends event fields with or without the custom-field `__c` suffix; accept both. */
function field(event: JsonObject, name: string): unknown {
  return get(event, name) ?? get(event, `${name}__c`);
}

function fieldString(event: JsonObject, name: string): string | undefined {
  const value = field(event, name);
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** `PayloadCurrentValue` is a JSON document inside a string (a textarea field). */
function currentValue(event: JsonObject): JsonObject {
  const value = field(event, 'PayloadCurrentValue');
  if (value === undefined || value === null || value === '') return {};
  const parsed = typeof value === 'string' ? parseJson(value) : value;
  if (!isObject(parsed)) throw invalidPayload('PayloadCurrentValue is not a JSON object');
  return parsed;
}

/**
 * Data Cloud (Data 360) webhook data-action targets: `{ creationDateTime, count, schemas, events }`
 * where each event is a DataObjectDataChgEvent. One WebhookEvent per item: eventType from
 * `EventPrompt` (INSERT/UPDATE/DELETE as created/updated/deleted), entityType the
 * `SourceObjectDeveloperName` as sent (`ssot__Individual__dlm`), entityId the record's id found in
 * `PayloadCurrentValue` (falling back to `ProfileIdValue`, then the event uuid), data the parsed
 * `PayloadCurrentValue`, deliveryId `EventUuid`.
 */
export const parseSalesforceDataCloud = guarded((request: ParseRequest, options?: ParseOptions): WebhookEvent[] => {
  const body = parseJsonObject(readRequest(request).text);
  const events = getArray(body, 'events');
  if (events === undefined || events.length === 0) throw invalidPayload('No Data Cloud events');
  if (events.length > MAX_BATCH_ITEMS) throw invalidPayload('Too many events');
  return events.map((event) => {
    if (!isObject(event)) throw invalidPayload('Data Cloud event is not an object');
    const data = currentValue(event);
    const prompt = fieldString(event, 'EventPrompt')?.toUpperCase();
    const uuid = fieldString(event, 'EventUuid');
    const recordId = ID_FIELDS.map((name) => getId(data, name)).find((id) => id !== undefined);
    return makeEvent(
      'salesforce-datacloud',
      {
        eventType: prompt === undefined ? 'updated' : (EVENT_TYPES.get(prompt) ?? prompt.toLowerCase()),
        entityType: fieldString(event, 'SourceObjectDeveloperName'),
        entityId: recordId ?? fieldString(event, 'ProfileIdValue') ?? uuid,
        data,
        timestamp:
          toDate(field(event, 'EventCreationDateTime'), 'ms') ??
          toDate(field(event, 'EventPublishDateTime'), 'ms') ??
          toDate(getString(body, 'creationDateTime'), 'ms'),
        deliveryId: uuid,
      },
      options,
    );
  });
});
