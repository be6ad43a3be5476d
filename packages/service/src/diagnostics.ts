import type { HeaderMap, SignatureDiagnostics, WebhookRequest } from '@webhooks/core';

/** Headers that prove or carry a signature, by provider scheme, for "why did it fail?". */
const SIGNATURE_HEADERS = [
  'x-hub-signature-256',
  'x-hub-signature',
  'x-slack-signature',
  'x-slack-request-timestamp',
  'x-notion-signature',
  'x-salesforce-event-signature',
  'x-signature',
  'authorization',
  'x-goog-channel-token',
  'stripe-signature',
  'webhook-signature',
  'webhook-timestamp',
  'webhook-id',
  'svix-signature',
  'svix-timestamp',
  'svix-id',
  'x-shopify-hmac-sha256',
  'x-twilio-signature',
  'x-hubspot-signature-v3',
  'x-hubspot-signature',
  'x-hubspot-request-timestamp',
  'linear-signature',
  'x-zm-signature',
  'x-zm-request-timestamp',
];

/** Timestamp headers and their unit, to report the clock skew that stale-timestamp failures come from. */
const TIMESTAMP_HEADERS: Array<[name: string, unitMs: number]> = [
  ['x-slack-request-timestamp', 1000],
  ['webhook-timestamp', 1000],
  ['svix-timestamp', 1000],
  ['x-zm-request-timestamp', 1000],
  ['x-hubspot-request-timestamp', 1],
];

/** Credentials that must never be stored or logged, whatever the provider. */
const CREDENTIAL_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'x-goog-channel-token',
]);

function lowerCaseHeaders(headers: HeaderMap): Map<string, string> {
  const map = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    map.set(name.toLowerCase(), Array.isArray(value) ? value.join(', ') : String(value));
  }
  return map;
}

export function diagnoseSignature(request: WebhookRequest, nowMs: number): SignatureDiagnostics {
  const headers = lowerCaseHeaders(request.headers);
  const diagnostics: SignatureDiagnostics = {
    signatureHeaders: SIGNATURE_HEADERS.filter((name) => headers.has(name)),
    bodyLength: typeof request.body === 'string' ? Buffer.byteLength(request.body) : request.body.byteLength,
  };
  const contentType = headers.get('content-type');
  if (contentType !== undefined) diagnostics.contentType = contentType.slice(0, 200);
  for (const [name, unitMs] of TIMESTAMP_HEADERS) {
    const value = headers.get(name);
    if (value === undefined || !/^\d{1,16}$/.test(value)) continue;
    diagnostics.timestampSkewSeconds = Math.round((nowMs - Number(value) * unitMs) / 1000);
    break;
  }
  const stripe = headers.get('stripe-signature')?.match(/(?:^|,)\s*t=(\d{1,16})/);
  if (stripe?.[1] !== undefined)
    diagnostics.timestampSkewSeconds = Math.round((nowMs - Number(stripe[1]) * 1000) / 1000);
  return diagnostics;
}

/**
 * Headers as stored with a delivery: lower-case names, repeated values joined, credentials dropped,
 * and any value that holds one of the registration's secrets dropped too. `redacted` says whether
 * anything was dropped (such a delivery cannot be verified again from what was stored).
 */
export function storableHeaders(
  headers: HeaderMap,
  secrets: readonly string[],
): { headers: Record<string, string>; redacted: boolean } {
  const stored: Record<string, string> = {};
  let redacted = false;
  for (const key of Object.keys(headers)) {
    const raw = headers[key];
    if (raw === undefined) continue;
    const name = key.toLowerCase();
    const value = Array.isArray(raw) ? raw.join(', ') : String(raw);
    if (CREDENTIAL_HEADERS.has(name) || containsSecret(value, secrets)) {
      redacted = true;
      continue;
    }
    stored[name] = value.length > 8192 ? value.slice(0, 8192) : value;
  }
  return { headers: stored, redacted };
}

function containsSecret(value: string, secrets: readonly string[]): boolean {
  for (const secret of secrets) if (secret.length > 0 && value.includes(secret)) return true;
  return false;
}

const REDACTED = '[redacted]';

/**
 * A body as stored with a delivery: every occurrence of one of the registration's secrets replaced
 * by `[redacted]`. Microsoft Graph puts its `clientState`, the registration's secret, in every
 * notification: stored as it came, listing deliveries would hand the secret out again, and it
 * would sit unencrypted with the body. A secret is found as written, and in JSON bodies however
 * its punctuation and non-ASCII characters are escaped (`\"`, `\u002B`, `\u00e9`: .NET and Python
 * escape more than JavaScript does; no encoder escapes letters or digits). `redacted` says whether anything was replaced (such a delivery cannot be
 * verified again from what was stored). A body that holds no secret, the usual case, is returned
 * as it is, found so by native byte searches.
 */
export function storableBody(body: Uint8Array, secrets: readonly string[]): { body: Uint8Array; redacted: boolean } {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const escapes = bytes.indexOf(BACKSLASH) !== -1;
  const present: string[] = [];
  for (const secret of secrets) {
    if (secret.length === 0) continue;
    const { raw, anchor } = needle(secret);
    // Encoders escape punctuation and non-ASCII, never letters or digits: a secret whose longest
    // run of those is missing from the body cannot be in it, escaped or not (a native search,
    // where the expression below would be slow over a 25 MB body).
    const maybe = bytes.indexOf(raw) !== -1 || (escapes && (anchor === undefined || bytes.indexOf(anchor) !== -1));
    if (maybe) present.push(secret);
  }
  if (present.length === 0) return { body, redacted: false };
  // Bytes as latin1 characters, one per byte, so that bytes that are not UTF-8 come back unchanged.
  const text = bytes.toString('latin1');
  const redacted = text.replace(secretPattern(present), REDACTED);
  if (redacted === text) return { body, redacted: false };
  return { body: new Uint8Array(Buffer.from(redacted, 'latin1')), redacted: true };
}

const BACKSLASH = 0x5c;

interface Needle {
  /** The secret as UTF-8 bytes. */
  raw: Buffer;
  /** Its longest run of letters and digits, when 4 or more long: in the body however it is escaped. */
  anchor: Buffer | undefined;
}

/** Secrets as byte needles, made once each: a search for a string encodes it afresh every time. */
const needles = new Map<string, Needle>();

function needle(secret: string): Needle {
  let found = needles.get(secret);
  if (!found) {
    if (needles.size >= 1000) needles.clear();
    const longest = (secret.match(/[A-Za-z0-9]+/g) ?? []).reduce((a, b) => (b.length > a.length ? b : a), '');
    found = { raw: Buffer.from(secret, 'utf8'), anchor: longest.length >= 4 ? Buffer.from(longest) : undefined };
    needles.set(secret, found);
  }
  return found;
}

const patterns = new Map<string, RegExp>();

/** Matches any of `secrets` (the longest first), each character as UTF-8 bytes or any JSON escape of it. */
function secretPattern(secrets: readonly string[]): RegExp {
  const id = secrets.join('\u0000');
  let pattern = patterns.get(id);
  if (!pattern) {
    const alternatives = [...secrets].sort((a, b) => b.length - a.length).map(charPatterns);
    pattern = new RegExp(alternatives.join('|'), 'g');
    if (patterns.size >= 1000) patterns.clear();
    patterns.set(id, pattern);
  }
  pattern.lastIndex = 0;
  return pattern;
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\\\"',
  '\\': '\\\\\\\\',
  '/': '\\\\/',
  '\b': '\\\\b',
  '\f': '\\\\f',
  '\n': '\\\\n',
  '\r': '\\\\r',
  '\t': '\\\\t',
};

function charPatterns(secret: string): string {
  let source = '';
  for (const char of secret) {
    const forms = [escapeRegExp(Buffer.from(char, 'utf8').toString('latin1'))];
    const short = SHORT_ESCAPES[char];
    if (short !== undefined) forms.push(short);
    // \uXXXX in either case, a surrogate pair for characters beyond the BMP.
    let units = '';
    for (let i = 0; i < char.length; i++) {
      const hex = char.charCodeAt(i).toString(16).padStart(4, '0');
      units += `\\\\u${[...hex].map((h) => (/[a-f]/.test(h) ? `[${h}${h.toUpperCase()}]` : h)).join('')}`;
    }
    forms.push(units);
    source += `(?:${forms.join('|')})`;
  }
  return source;
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}
