import type { ParseRequest, WebhookEvent } from '@webhooks/core';
import { guarded, invalidPayload } from './internal/errors.js';
import { makeEvent, type ParseOptions } from './internal/event.js';
import { header } from './internal/headers.js';
import { readRequest } from './internal/request.js';
import type { JsonObject } from './internal/values.js';

/** `https://www.googleapis.com/calendar/v3/calendars/{calendarId}/events?...` gives the calendar id. */
function calendarId(resourceUri: string | undefined): string | undefined {
  const match = resourceUri === undefined ? null : /\/calendars\/([^/?#]+)/.exec(resourceUri);
  if (match?.[1] === undefined) return undefined;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return match[1];
  }
}

/**
 * Google Calendar push notifications carry everything in headers (the body is empty): eventType
 * `X-Goog-Resource-State` (`sync` for a new channel, then `exists` / `not_exists`), entityType
 * `calendar`, entityId the calendar id from `X-Goog-Resource-URI` (else `X-Goog-Resource-ID`),
 * deliveryId `<X-Goog-Channel-ID>:<X-Goog-Message-Number>`. `X-Goog-Channel-Token` is the channel's
 * secret and never appears in `data`.
 */
export const parseGoogleCalendar = guarded((request: ParseRequest, options?: ParseOptions): WebhookEvent => {
  const { headers } = readRequest(request);
  const state = header(headers, 'x-goog-resource-state');
  const resourceId = header(headers, 'x-goog-resource-id');
  const resourceUri = header(headers, 'x-goog-resource-uri');
  const channelId = header(headers, 'x-goog-channel-id');
  const messageNumber = header(headers, 'x-goog-message-number');
  if (state === undefined || channelId === undefined) throw invalidPayload('Not a Google Calendar notification');
  const data: JsonObject = { resourceState: state, channelId };
  if (resourceId !== undefined) data.resourceId = resourceId;
  if (resourceUri !== undefined) data.resourceUri = resourceUri;
  if (messageNumber !== undefined) data.messageNumber = messageNumber;
  const expiration = header(headers, 'x-goog-channel-expiration');
  if (expiration !== undefined) data.channelExpiration = expiration;
  return makeEvent(
    'google-calendar',
    {
      eventType: state,
      entityType: 'calendar',
      entityId: calendarId(resourceUri) ?? resourceId,
      data,
      deliveryId: messageNumber === undefined ? undefined : `${channelId}:${messageNumber}`,
    },
    options,
  );
});
