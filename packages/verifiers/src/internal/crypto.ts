import { createHash, createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';

/** The body as bytes, without copying a Uint8Array. */
export function bodyBytes(body: string | Uint8Array): Buffer {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** The body as the HMAC wants it: a string goes in as it is (hashed as UTF-8, no copy). */
export function hmacInput(body: string | Uint8Array): string | Buffer {
  return typeof body === 'string' ? body : bodyBytes(body);
}

/** The body as text, for providers whose signed string is built from text (Twilio form params). */
export function bodyText(body: string | Uint8Array): string {
  return typeof body === 'string' ? body : bodyBytes(body).toString('utf8');
}

export type HmacAlgorithm = 'sha256' | 'sha1';

/** An HMAC as text: producing a string is cheaper in Node than producing a Buffer. */
export function hmacDigest(
  algorithm: HmacAlgorithm,
  encoding: 'hex' | 'base64',
  key: string | Buffer,
  first: string | Buffer,
  second?: string | Buffer,
  third?: string | Buffer,
  fourth?: string | Buffer,
): string {
  // Fixed parameters rather than a rest array: this runs once per secret per request.
  const mac = createHmac(algorithm, typeof key === 'string' ? hmacKey(key) : key).update(first);
  if (second !== undefined) mac.update(second);
  if (third !== undefined) mac.update(third);
  if (fourth !== undefined) mac.update(fourth);
  return mac.digest(encoding);
}

/**
 * HMAC keys made from secret strings, by secret. An HMAC keyed by a ready KeyObject costs about a
 * third less than one keyed by a string (which is encoded and wrapped again on every call), and the
 * same few secrets sign every request. Bounded: it starts over once it holds KEY_CACHE_SIZE keys,
 * so a process that verifies for many registrations keeps at most that many; they live in memory
 * no longer than the registrations that hold the same secrets do.
 */
const keyCache = new Map<string, KeyObject>();
const KEY_CACHE_SIZE = 256;

function hmacKey(secret: string): KeyObject {
  let key = keyCache.get(secret);
  if (key === undefined) {
    if (keyCache.size >= KEY_CACHE_SIZE) keyCache.clear();
    key = createSecretKey(Buffer.from(secret, 'utf8'));
    keyCache.set(secret, key);
  }
  return key;
}

export function sha256Hex(...parts: Array<string | Buffer>): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

/** Constant-time equality; the length check first, since timingSafeEqual throws on a mismatch. */
export function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Constant-time equality of two strings, compared as UTF-8 bytes. */
export function safeEqualString(a: string, b: string): boolean {
  return safeEqual(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Digests up to this many characters are compared in scratch space rather than in new Buffers. */
const SCRATCH_CHARS = 128;
// Three bytes per UTF-16 unit at most, so any string of SCRATCH_CHARS fits whole.
const left = Buffer.alloc(SCRATCH_CHARS * 3);
const right = Buffer.alloc(SCRATCH_CHARS * 3);
/** Views of the first n bytes of each scratch buffer, by n (made once per length). */
const scratchViews: Array<[Buffer, Buffer] | undefined> = [];

/**
 * `safeEqualString` for digests (hex or base64 text, compared once per secret per request): the
 * same constant-time comparison of the same UTF-8 bytes, written into two scratch buffers instead
 * of two new ones. Only for digests: the scratch keeps the last ones compared until the next call.
 */
export function safeEqualDigest(a: string, b: string): boolean {
  if (a.length > SCRATCH_CHARS || b.length > SCRATCH_CHARS) return safeEqualString(a, b);
  const length = left.write(a, 'utf8');
  if (right.write(b, 'utf8') !== length) return false;
  let views = scratchViews[length];
  if (views === undefined) {
    views = [left.subarray(0, length), right.subarray(0, length)];
    scratchViews[length] = views;
  }
  return timingSafeEqual(views[0], views[1]);
}

const HEX = /^[0-9a-fA-F]+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Lower-case hex of the expected byte length, or null when the value is not one. */
export function normalizeHex(value: string, bytes: number): string | null {
  return value.length === bytes * 2 && HEX.test(value) ? value.toLowerCase() : null;
}

/** Standard padded base64 of the expected byte length, or null when the value is not one. */
export function normalizeBase64(value: string, bytes: number): string | null {
  const padding = (3 - (bytes % 3)) % 3;
  if (value.length !== Math.ceil(bytes / 3) * 4 || !BASE64.test(value)) return null;
  // Exactly the padding that length needs: `==` where one `=` belongs is not base64 of `bytes` bytes.
  return value.endsWith('='.repeat(padding)) && !value.endsWith('='.repeat(padding + 1)) ? value : null;
}
