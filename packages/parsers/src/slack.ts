import type { ParseRequest, WebhookEvent } from '@webhooks/core';
import { guarded, invalidPayload } from './internal/errors.js';
import { makeEvent, type ParseOptions } from './internal/event.js';
import { looksLikeJson, parseForm, parseJsonObject, readRequest } from './internal/request.js';
import { get, getObject, getString, isObject, type JsonObject, toDate } from './internal/values.js';

/** Event types whose entity is not the first word of the type (`reaction_added` is a `reaction`). */
const ENTITY_TYPES = new Map([
  ['app_mention', 'message'],
  ['message_metadata_posted', 'message'],
  ['member_joined_channel', 'channel'],
  ['member_left_channel', 'channel'],
  ['app_home_opened', 'app_home'],
]);

/** A string id, or the `id` of an object (`channel` and `user` come as either). */
function idOf(value: unknown): string | undefined {
  if (typeof value === 'string' && value.length > 0) return value;
  return isObject(value) ? getString(value, 'id') : undefined;
}

function eventEntityId(event: JsonObject, entityType: string): string | undefined {
  if (entityType === 'message') {
    const subtype = getString(event, 'subtype');
    const edited = getObject(event, 'message');
    if (subtype === 'message_changed' && edited !== undefined) return getString(edited, 'ts');
    if (subtype === 'message_deleted') return getString(event, 'deleted_ts') ?? getString(event, 'ts');
    // Every real message has its ts; the spec's shortened example has only the channel and user.
    return getString(event, 'ts') ?? getString(event, 'event_ts') ?? idOf(get(event, 'channel'));
  }
  const item = getObject(event, 'item');
  return (
    (item === undefined ? undefined : getString(item, 'ts')) ??
    idOf(get(event, 'channel')) ??
    getString(event, 'file_id') ??
    idOf(get(event, 'user')) ??
    getString(event, 'ts') ??
    getString(event, 'event_ts')
  );
}

/** Events API envelope: `{ type: 'event_callback', event: {...}, event_id, event_time, ... }`. */
function parseEnvelope(body: JsonObject, options: ParseOptions | undefined): WebhookEvent {
  const type = getString(body, 'type');
  if (type === 'url_verification') {
    throw invalidPayload('Slack url_verification is a handshake, not an event', 'handshake');
  }
  if (type === 'app_rate_limited') {
    const appId = getString(body, 'api_app_id');
    return makeEvent('slack', { eventType: type, entityType: 'app', entityId: appId, data: body }, options);
  }
  const event = getObject(body, 'event');
  const eventType = event === undefined ? undefined : getString(event, 'type');
  if (type !== 'event_callback' || event === undefined || eventType === undefined) {
    throw invalidPayload('Not a Slack event');
  }
  const entityType = ENTITY_TYPES.get(eventType) ?? eventType.split('_')[0] ?? eventType;
  const subtype = entityType === 'message' ? getString(event, 'subtype') : undefined;
  return makeEvent(
    'slack',
    {
      eventType: subtype ?? eventType,
      entityType,
      entityId: eventEntityId(event, entityType),
      data: event,
      timestamp: toDate(get(body, 'event_time'), 's') ?? toDate(get(event, 'event_ts'), 's'),
      deliveryId: getString(body, 'event_id'),
    },
    options,
  );
}

/** Interactivity (`payload=<json>`) and slash commands (`command=/weather&...`) come as forms. */
function parseFormBody(text: string, options: ParseOptions | undefined): WebhookEvent {
  const form = parseForm(text);
  if (Object.hasOwn(form, 'ssl_check'))
    throw invalidPayload('Slack ssl_check is a handshake, not an event', 'handshake');
  const payload = Object.hasOwn(form, 'payload') ? form.payload : undefined;
  if (typeof payload === 'string') {
    const interaction = parseJsonObject(payload);
    const view = getObject(interaction, 'view');
    const container = getObject(interaction, 'container');
    const triggerId = getString(interaction, 'trigger_id');
    return makeEvent(
      'slack',
      {
        eventType: getString(interaction, 'type'),
        entityType: 'interaction',
        entityId:
          triggerId ??
          (view === undefined ? undefined : getString(view, 'id')) ??
          getString(interaction, 'action_ts') ??
          (container === undefined ? undefined : getString(container, 'message_ts')),
        data: interaction,
        deliveryId: triggerId,
      },
      options,
    );
  }
  const command = Object.hasOwn(form, 'command') ? form.command : undefined;
  if (typeof command !== 'string') throw invalidPayload('Not a Slack command or interaction');
  const triggerId = getString(form, 'trigger_id');
  return makeEvent(
    'slack',
    {
      eventType: command.replace(/^\//, ''),
      entityType: 'command',
      entityId: triggerId ?? getString(form, 'channel_id'),
      data: form,
      deliveryId: triggerId,
    },
    options,
  );
}

/**
 * Slack. Events API: eventType the inner event's type (a message's `subtype` when it has one,
 * such as `message_changed`), entityType the thing it is about (`message` for messages and
 * mentions, else the first word of the type: `reaction_added` is a `reaction`), entityId the
 * message `ts` (else the item's ts, channel, file or user id), data the inner event, deliveryId
 * `event_id`, timestamp `event_time`. `url_verification` and `ssl_check` are handshakes: they
 * throw invalid_payload with reason `handshake` (answer them before parsing). Slash commands give
 * entityType `command` and eventType the command without its slash; interactions give entityType
 * `interaction` and eventType the payload's type; both use `trigger_id` as entityId and deliveryId.
 */
export const parseSlack = guarded((request: ParseRequest, options?: ParseOptions): WebhookEvent => {
  const { text } = readRequest(request);
  return looksLikeJson(text) ? parseEnvelope(parseJsonObject(text), options) : parseFormBody(text, options);
});
