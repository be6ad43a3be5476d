import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  defineProvider,
  type HeaderMap,
  type ParseRequest,
  type VerifyOptions,
  type VerifyResult,
  WebhookError,
  type WebhookEvent,
  type WebhookRequest,
} from '@webhooks/core';

/**
 * Intercom signs every notification with the app's client secret: `X-Hub-Signature: sha1=<hex>`,
 * the HMAC-SHA1 of the raw body (developers.intercom.com, "Signed notifications"). There is no
 * timestamp header, so there is no freshness window; dedupe on the notification `id`.
 */
const SIGNATURE_HEADER = 'x-hub-signature';
const PREFIX = 'sha1=';
const DIGEST_HEX = /^[0-9a-f]{40}$/i;
/** A header longer than this cannot be ours; refusing it early keeps hostile input cheap. */
const MAX_HEADER_LENGTH = 1024;
/** Bodies parsed for the delivery id only; Intercom notifications are far smaller. */
const MAX_DEDUPE_BODY = 1024 * 1024;

const fail = (reason: Exclude<VerifyResult, { ok: true }>['reason'], message: string): VerifyResult => ({
  ok: false,
  reason,
  message,
});

function headerValues(headers: HeaderMap, name: string): string[] {
  const values: string[] = [];
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name || value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) if (typeof item === 'string') values.push(item);
  }
  return values;
}

function bodyBytes(body: string | Uint8Array): Buffer {
  return typeof body === 'string'
    ? Buffer.from(body, 'utf8')
    : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function digest(secret: string, body: Buffer): Buffer {
  return createHmac('sha1', secret).update(body).digest();
}

/** Proves an Intercom notification genuine from its raw bytes. Never throws for bad input. */
export async function verifyIntercom(request: WebhookRequest, options: VerifyOptions): Promise<VerifyResult> {
  const secrets = options.secrets.filter((secret) => typeof secret === 'string');
  if (!secrets.some((secret) => secret.length > 0)) return fail('no_secret', 'No secret is configured');
  const values = headerValues(request.headers, SIGNATURE_HEADER);
  if (values.length === 0) return fail('missing_header', 'Missing X-Hub-Signature header');
  const candidates: Buffer[] = [];
  for (const raw of values) {
    const value = raw.trim();
    if (value.length > MAX_HEADER_LENGTH || !value.startsWith(PREFIX) || !DIGEST_HEX.test(value.slice(PREFIX.length))) {
      return fail('malformed_header', 'Malformed X-Hub-Signature header: expected sha1=<hex HMAC-SHA1>');
    }
    candidates.push(Buffer.from(value.slice(PREFIX.length), 'hex'));
  }
  const body = bodyBytes(request.body);
  for (let index = 0; index < options.secrets.length; index++) {
    const secret = options.secrets[index]!;
    if (secret.length === 0) continue;
    const expected = digest(secret, body);
    // Every candidate is compared, so timing does not tell which one came close.
    let matched = false;
    for (const candidate of candidates) {
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) matched = true;
    }
    if (matched) return { ok: true, secretIndex: index };
  }
  return fail('signature_mismatch', 'The signature does not match');
}

/** The headers Intercom would send with this body, for tests and the `webhooks` CLI. */
export function signIntercom(input: { body: string | Uint8Array; secret: string }): Record<string, string> {
  return {
    'content-type': 'application/json',
    [SIGNATURE_HEADER]: `${PREFIX}${digest(input.secret, bodyBytes(input.body)).toString('hex')}`,
  };
}

type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function parseNotification(body: string | Uint8Array): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(bodyBytes(body).toString('utf8'));
  } catch {
    throw new WebhookError('invalid_payload', 'The body is not JSON');
  }
  if (!isObject(value) || value.type !== 'notification_event') {
    throw new WebhookError('invalid_payload', 'The body is not an Intercom notification_event');
  }
  return value;
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 ? value : typeof value === 'number' ? String(value) : undefined;

/**
 * `{ type: 'notification_event', id, topic: 'conversation.user.created', created_at, data: { item } }`:
 * entityType is the item's type (`conversation`, `contact`, `ticket`), else the topic's first
 * segment; eventType the topic's last segment; entityId the item's id; deliveryId the notification id.
 */
export function parseIntercom(request: ParseRequest, options: { now?: number } = {}): WebhookEvent {
  const notification = parseNotification(request.body);
  const topic = text(notification.topic);
  const data = isObject(notification.data) ? notification.data : undefined;
  const item = data && isObject(data.item) ? data.item : undefined;
  if (topic === undefined || item === undefined) {
    throw new WebhookError('invalid_payload', 'The notification has no topic or data.item');
  }
  const segments = topic.split('.');
  const entityType = text(item.type) ?? segments[0]!;
  const entityId = text(item.id);
  if (entityId === undefined) throw new WebhookError('invalid_payload', 'The notification item has no id');
  const createdAt = typeof notification.created_at === 'number' ? notification.created_at * 1000 : Number.NaN;
  const event: WebhookEvent = {
    providerId: 'intercom',
    eventType: segments.at(-1)!,
    entityType,
    entityId,
    data: item,
    timestamp: new Date(Number.isFinite(createdAt) ? createdAt : (options.now ?? Date.now())),
  };
  const deliveryId = text(notification.id);
  if (deliveryId !== undefined) event.deliveryId = deliveryId;
  return event;
}

/** The notification id, which Intercom keeps across its retry. */
export function intercomDedupeKey(request: ParseRequest): string | undefined {
  const bytes = bodyBytes(request.body);
  if (bytes.length > MAX_DEDUPE_BODY) return undefined;
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return isObject(value) ? text(value.id) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Intercom's `ping` topic ("Send a test request" in the Developer Hub) is signed like any
 * notification: answered 200 once verified, so an unsigned ping proves nothing.
 */
export async function intercomHandshake(request: WebhookRequest, options: VerifyOptions) {
  let notification: JsonObject;
  try {
    notification = parseNotification(request.body);
  } catch {
    return null;
  }
  if (notification.topic !== 'ping') return null;
  if (!(await verifyIntercom(request, options)).ok) return null;
  return { status: 200, contentType: 'application/json', body: '{}' };
}

/** The provider the receiver loads with `WEBHOOKS_PROVIDERS=@webhooks/provider-intercom`. */
export default defineProvider({
  id: 'intercom',
  verify: verifyIntercom,
  parse: parseIntercom,
  handshake: intercomHandshake,
  dedupeKey: intercomDedupeKey,
  // A 429 makes Intercom throttle and, past a delay, drop notifications (its "Webhook notifications"
  // page), so over-limit deliveries are stored and their syncs released later instead.
  retriesDeliveries: false,
});
