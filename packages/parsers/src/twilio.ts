import type { ParseRequest, WebhookEvent } from '@webhooks/core';
import { guarded, invalidPayload } from './internal/errors.js';
import { makeEvent, type ParseOptions } from './internal/event.js';
import { header } from './internal/headers.js';
import { looksLikeJson, MAX_BATCH_ITEMS, parseForm, parseJson, readRequest } from './internal/request.js';
import { get, getObject, getString, isObject, type JsonObject, toDate } from './internal/values.js';

/** [sid field, status field, entityType], most specific first: a recording callback also has a CallSid. */
const RESOURCES: [string, string, string][] = [
  ['RecordingSid', 'RecordingStatus', 'recording'],
  ['TranscriptionSid', 'TranscriptionStatus', 'transcription'],
  ['MessageSid', 'MessageStatus', 'message'],
  ['SmsSid', 'SmsStatus', 'message'],
  ['CallSid', 'CallStatus', 'call'],
];

/** Sids that say who sent the callback rather than what it is about. */
const CONTEXT_SIDS = new Set(['AccountSid', 'MessagingServiceSid', 'ApplicationSid', 'ParentAccountSid']);

/** `ConversationSid` gives `conversation`; `ParticipantSid` gives `participant`. */
function snake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** Status callbacks and incoming-message webhooks (form fields, or the same names as JSON). */
function parseCallback(fields: JsonObject, idempotencyToken: string | undefined, options?: ParseOptions): WebhookEvent {
  const eventName = getString(fields, 'EventType');
  for (const [sidField, statusField, entityType] of RESOURCES) {
    const sid = getString(fields, sidField);
    if (sid === undefined) continue;
    return makeEvent(
      'twilio',
      {
        eventType: getString(fields, statusField) ?? eventName ?? (entityType === 'message' ? 'received' : 'updated'),
        entityType,
        entityId: sid,
        data: fields,
        timestamp: toDate(get(fields, 'Timestamp'), 's'),
        deliveryId: idempotencyToken,
      },
      options,
    );
  }
  // Conversations, TaskRouter, Sync...: the first resource sid, and the callback's EventType.
  const sidField = Object.keys(fields).find((key) => key.endsWith('Sid') && key.length > 3 && !CONTEXT_SIDS.has(key));
  return makeEvent(
    'twilio',
    {
      eventType: eventName,
      entityType: sidField === undefined ? undefined : snake(sidField.slice(0, -3)),
      entityId: sidField === undefined ? undefined : getString(fields, sidField),
      data: fields,
      timestamp: toDate(get(fields, 'Timestamp'), 's'),
      deliveryId: idempotencyToken,
    },
    options,
  );
}

/** Event Streams webhook sinks post a JSON array of CloudEvents (`com.twilio.messaging.message.delivered`). */
function parseCloudEvent(item: unknown, options?: ParseOptions): WebhookEvent {
  if (!isObject(item)) throw invalidPayload('Twilio event is not an object');
  const type = getString(item, 'type');
  const data = getObject(item, 'data') ?? {};
  const segments = type?.split('.') ?? [];
  const entityType = segments.at(-2);
  const sid = entityType === undefined ? undefined : (getString(data, `${entityType}Sid`) ?? getString(data, 'sid'));
  return makeEvent(
    'twilio',
    {
      eventType: segments.at(-1),
      entityType,
      entityId: sid ?? getString(data, 'messageSid') ?? getString(data, 'callSid'),
      data,
      timestamp: toDate(get(item, 'time'), 'ms'),
      deliveryId: getString(item, 'id'),
    },
    options,
  );
}

/**
 * Twilio. Form-encoded (or JSON) callbacks: a recording, transcription, message (`MessageSid` or
 * `SmsSid`) or call (`CallSid`), in that order, gives entityType and entityId; eventType is its
 * status (`delivered`, `completed`), else `EventType`, else `received` for messages. Other
 * callbacks use their first resource sid and `EventType`. deliveryId is the
 * `I-Twilio-Idempotency-Token` header when sent. A JSON array is an Event Streams batch of
 * CloudEvents: one event each, deliveryId the CloudEvent `id`.
 */
export const parseTwilio = guarded((request: ParseRequest, options?: ParseOptions): WebhookEvent | WebhookEvent[] => {
  const { headers, text } = readRequest(request);
  const token = header(headers, 'i-twilio-idempotency-token');
  if (!looksLikeJson(text)) return parseCallback(parseForm(text), token, options);
  const body = parseJson(text);
  if (isObject(body)) return parseCallback(body, token, options);
  if (!Array.isArray(body) || body.length === 0) throw invalidPayload('Not a Twilio event');
  if (body.length > MAX_BATCH_ITEMS) throw invalidPayload('Too many events');
  return body.map((item) => parseCloudEvent(item, options));
});
