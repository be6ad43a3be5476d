import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  defineProvider,
  type HandshakeResponse,
  type HeaderMap,
  type ParseRequest,
  type VerifyOptions,
  type VerifyResult,
  WebhookError,
  type WebhookEvent,
  type WebhookRequest,
} from '@webhooks/core';

/*
 * The template implements a fictional provider, "Acme", so that it builds and passes the
 * conformance kit as it stands. Acme sends `Acme-Signature: t=<unix seconds>,v1=<hex>` where the
 * hex is HMAC-SHA256(secret, `${t}.${raw body}`), a delivery id in `Acme-Delivery`, and a signed
 * `{"type":"endpoint.verification","challenge":"..."}` when a URL is saved.
 *
 * TODO: replace every "Acme" detail with your provider's documented scheme, and cite the page.
 */

// TODO: your provider's id: lower-case letters, digits and dashes; registrations use it.
const PROVIDER_ID = 'acme';
// TODO: header names in lower case.
const SIGNATURE_HEADER = 'acme-signature';
const DELIVERY_HEADER = 'acme-delivery';
// TODO: your provider's documented freshness window; drop the timestamp checks if it sends none.
const DEFAULT_TOLERANCE_SECONDS = 300;
/** Longer values cannot be a signature; refusing them early keeps hostile input cheap. */
const MAX_HEADER_LENGTH = 4096;

type Failure = Exclude<VerifyResult, { ok: true }>;
// Short fixed messages: they reach logs and API answers, so never a secret, a signature or input.
const fail = (reason: Failure['reason'], message: string): Failure => ({ ok: false, reason, message });

function headerValues(headers: HeaderMap, name: string): string[] {
  const values: string[] = [];
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name || value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) if (typeof item === 'string') values.push(item);
  }
  return values;
}

/** The raw bytes: signatures are over what was sent, never over re-serialised JSON. */
function bodyBytes(body: string | Uint8Array): Buffer {
  return typeof body === 'string'
    ? Buffer.from(body, 'utf8')
    : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function sign(secret: string, timestamp: string, body: Buffer): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
}

/** `t=<seconds>,v1=<hex>[,v1=<hex>...]`, or null when the header is not of that form. */
function parseSignature(value: string): { timestamp: string; digests: Buffer[] } | null {
  if (value.length > MAX_HEADER_LENGTH) return null;
  let timestamp: string | undefined;
  const digests: Buffer[] = [];
  for (const part of value.split(',')) {
    const [key, item] = part.trim().split('=', 2);
    if (key === 't' && item !== undefined && /^\d{1,12}$/.test(item)) timestamp = item;
    else if (key === 'v1' && item !== undefined && /^[0-9a-f]{64}$/i.test(item)) digests.push(Buffer.from(item, 'hex'));
  }
  return timestamp === undefined || digests.length === 0 ? null : { timestamp, digests };
}

/** TODO: your provider's verification. Never throw for bad input: return a failure with a reason. */
export async function verifyAcme(request: WebhookRequest, options: VerifyOptions): Promise<VerifyResult> {
  // An empty secret list (or only empty secrets) fails closed.
  if (!options.secrets.some((secret) => secret.length > 0)) return fail('no_secret', 'No secret is configured');
  const values = headerValues(request.headers, SIGNATURE_HEADER);
  if (values.length === 0) return fail('missing_header', 'Missing Acme-Signature header');
  const parsed = values.map(parseSignature);
  if (parsed.some((p) => p === null)) return fail('malformed_header', 'Malformed Acme-Signature header');
  const signatures = parsed as Array<{ timestamp: string; digests: Buffer[] }>;
  const timestamp = signatures[0]!.timestamp;
  if (signatures.some((s) => s.timestamp !== timestamp)) {
    return fail('malformed_header', 'Acme-Signature headers disagree on the timestamp');
  }
  // Both directions: too old and too far in the future; the boundary itself is accepted.
  const skewSeconds = Math.abs((options.now ?? Date.now()) / 1000 - Number(timestamp));
  if (skewSeconds > (options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) {
    return fail('timestamp_out_of_tolerance', 'The timestamp is outside the tolerance');
  }
  const body = bodyBytes(request.body);
  const candidates = signatures.flatMap((s) => s.digests);
  // Every secret in order (rotation): report which one matched.
  for (let index = 0; index < options.secrets.length; index++) {
    const secret = options.secrets[index]!;
    if (secret.length === 0) continue;
    const expected = sign(secret, timestamp, body);
    let matched = false;
    // Constant time, after checking lengths; every candidate is compared.
    for (const candidate of candidates) {
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) matched = true;
    }
    if (matched) return { ok: true, secretIndex: index };
  }
  return fail('signature_mismatch', 'The signature does not match');
}

/** The headers Acme would send: tests, fixtures and the `webhooks` CLI sign with it. */
export function signAcme(input: {
  body: string | Uint8Array;
  secret: string;
  /** Seconds since the epoch; defaults to now. */
  timestamp?: number;
  deliveryId?: string;
}): Record<string, string> {
  const timestamp = String(input.timestamp ?? Math.floor(Date.now() / 1000));
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    [SIGNATURE_HEADER]: `t=${timestamp},v1=${sign(input.secret, timestamp, bodyBytes(input.body)).toString('hex')}`,
  };
  if (input.deliveryId !== undefined) headers[DELIVERY_HEADER] = input.deliveryId;
  return headers;
}

type JsonObject = Record<string, unknown>;
const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 ? value : typeof value === 'number' ? String(value) : undefined;

function parseJson(body: string | Uint8Array): unknown {
  try {
    return JSON.parse(bodyBytes(body).toString('utf8'));
  } catch {
    throw new WebhookError('invalid_payload', 'The body is not JSON');
  }
}

/**
 * TODO: your provider's payload. Acme sends `{ id, type: "order.created", created_at, data: { object } }`:
 * entityType and eventType come from `type`, entityId from the object's id. Throw
 * WebhookError('invalid_payload') for anything that is not an event.
 */
export function parseAcme(request: ParseRequest, options: { now?: number } = {}): WebhookEvent {
  const payload = parseJson(request.body);
  if (!isObject(payload)) throw new WebhookError('invalid_payload', 'The body is not a JSON object');
  const type = text(payload.type);
  const object = isObject(payload.data) && isObject(payload.data.object) ? payload.data.object : undefined;
  const dot = type?.lastIndexOf('.') ?? -1;
  const entityId = object ? text(object.id) : undefined;
  if (type === undefined || dot <= 0 || object === undefined || entityId === undefined) {
    throw new WebhookError('invalid_payload', 'The body is not an Acme event');
  }
  const created = typeof payload.created_at === 'string' ? Date.parse(payload.created_at) : Number.NaN;
  const event: WebhookEvent = {
    providerId: PROVIDER_ID,
    eventType: type.slice(dot + 1),
    entityType: type.slice(0, dot),
    entityId,
    data: object,
    timestamp: new Date(Number.isNaN(created) ? (options.now ?? Date.now()) : created),
  };
  // The provider's delivery id is the receiver's dedupe key: keep it whenever the provider sends one.
  const deliveryId = acmeDedupeKey(request);
  if (deliveryId !== undefined) event.deliveryId = deliveryId;
  return event;
}

/** TODO: where your provider puts its delivery id (a header, or the body's event id). */
export function acmeDedupeKey(request: ParseRequest): string | undefined {
  const [value] = headerValues(request.headers, DELIVERY_HEADER);
  return value !== undefined && value.length > 0 && value.length <= 200 ? value : undefined;
}

/**
 * TODO: your provider's handshake, or delete it. Answer only the exact shape, and verify it first
 * when the provider signs it, so it can never be used to make the receiver echo chosen text.
 */
export async function acmeHandshake(
  request: WebhookRequest,
  options: VerifyOptions,
): Promise<HandshakeResponse | null> {
  let payload: unknown;
  try {
    payload = JSON.parse(bodyBytes(request.body).toString('utf8'));
  } catch {
    return null;
  }
  if (!isObject(payload) || payload.type !== 'endpoint.verification') return null;
  const challenge = payload.challenge;
  if (typeof challenge !== 'string' || challenge.length === 0 || challenge.length > 256) return null;
  if (!(await verifyAcme(request, options)).ok) return null;
  return { status: 200, contentType: 'application/json', body: JSON.stringify({ challenge }) };
}

/** The default export is what the receiver loads: `WEBHOOKS_PROVIDERS=<your package name>`. */
export default defineProvider({
  id: PROVIDER_ID,
  verify: verifyAcme,
  parse: parseAcme,
  handshake: acmeHandshake,
  dedupeKey: acmeDedupeKey,
  // TODO: true only if your provider retries failed deliveries (then a 429 is safe to answer).
  retriesDeliveries: true,
});
