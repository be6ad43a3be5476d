import type { HandshakeResponse, VerifyOptions, VerifyResult, WebhookRequest } from '@webhooks/core';
import { singleHeader } from './internal/headers.js';
import {
  fail,
  hasUsableSecret,
  malformedHeader,
  matchSecret,
  missingHeader,
  noSecret,
  ok,
  signatureMismatch,
} from './internal/result.js';
import type { ProviderVerifier } from './internal/verifier.js';

const TOKEN_HEADER = 'x-goog-channel-token';
const STATE_HEADER = 'x-goog-resource-state';
// Google caps the channel token at 256 characters; it travels as a header, so printable ASCII only.
const TOKEN = /^[\x20-\x7e]{1,256}$/;

/**
 * Google Calendar (and Drive) push channels: no signature, only the `token` we set in the watch
 * request, echoed in `X-Goog-Channel-Token`. It must equal one of the secrets (constant time).
 */
export function verifyGoogleCalendar(request: WebhookRequest, options: VerifyOptions): VerifyResult {
  if (!hasUsableSecret(options)) return noSecret();
  const header = singleHeader(request.headers, TOKEN_HEADER);
  if (!header.ok) {
    return header.reason === 'missing_header'
      ? missingHeader(TOKEN_HEADER)
      : fail('malformed_header', `Malformed ${TOKEN_HEADER} header: repeated with different values`);
  }
  if (!TOKEN.test(header.value)) return malformedHeader(TOKEN_HEADER, 'at most 256 printable characters');
  const token = Buffer.from(header.value, 'utf8');
  const index = matchSecret(options, [token], (secret) => Buffer.from(secret, 'utf8'));
  return index >= 0 ? ok(index) : signatureMismatch();
}

/**
 * The first message on a new channel is `X-Goog-Resource-State: sync`, carrying no change: it is
 * acknowledged with an empty 200, but only once the channel token verifies.
 */
export function googleCalendarHandshake(request: WebhookRequest, options: VerifyOptions): HandshakeResponse | null {
  const state = singleHeader(request.headers, STATE_HEADER);
  if (!state.ok || state.value !== 'sync') return null;
  if (!verifyGoogleCalendar(request, options).ok) return null;
  return { status: 200, contentType: 'text/plain; charset=utf-8', body: '' };
}

export interface SignGoogleCalendarInput {
  /** The channel token given in the watch request. */
  secret: string;
  channelId?: string;
  /** `sync` for the first message of a channel, then `exists`, `not_exists` (Drive adds more). */
  resourceState?: string;
  messageNumber?: number;
  resourceId?: string;
  resourceUri?: string;
  /** RFC 1123 date the channel expires, as Google sends it. */
  channelExpiration?: string;
}

/** Headers Google would send on a push notification of this channel. */
export function signGoogleCalendar(input: SignGoogleCalendarInput): Record<string, string> {
  const resourceState = input.resourceState ?? 'exists';
  const headers: Record<string, string> = {
    'x-goog-channel-id': input.channelId ?? '4ba78bf0-6a47-11e2-bcfd-0800200c9a66',
    'x-goog-channel-token': input.secret,
    'x-goog-resource-state': resourceState,
    'x-goog-message-number': String(input.messageNumber ?? (resourceState === 'sync' ? 1 : 2)),
    'x-goog-resource-id': input.resourceId ?? 'ret08u3rv24htgh289g',
    'x-goog-resource-uri':
      input.resourceUri ?? 'https://www.googleapis.com/calendar/v3/calendars/primary/events?alt=json',
  };
  if (input.channelExpiration !== undefined) headers['x-goog-channel-expiration'] = input.channelExpiration;
  return headers;
}

export const googleCalendar: ProviderVerifier = {
  id: 'google-calendar',
  verify: verifyGoogleCalendar,
  handshake: googleCalendarHandshake,
};
