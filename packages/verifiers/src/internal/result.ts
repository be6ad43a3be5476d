import type { VerifyFailureReason, VerifyOptions, VerifyResult } from '@webhooks/core';
import { safeEqual, safeEqualDigest } from './crypto.js';

export function ok(secretIndex: number): VerifyResult {
  return { ok: true, secretIndex };
}

/** Short fixed messages: they never contain a secret, a signature or body text. */
export function fail(reason: VerifyFailureReason, message: string): VerifyResult {
  return { ok: false, reason, message };
}

export const noSecret = (): VerifyResult => fail('no_secret', 'No secret is configured, so nothing can verify');
export const signatureMismatch = (): VerifyResult =>
  fail('signature_mismatch', 'No configured secret produces this signature');
export const missingHeader = (header: string): VerifyResult => fail('missing_header', `Missing ${header} header`);
export const malformedHeader = (header: string, expected: string): VerifyResult =>
  fail('malformed_header', `Malformed ${header} header: expected ${expected}`);
export const staleTimestamp = (): VerifyResult =>
  fail('timestamp_out_of_tolerance', 'The timestamp is outside the accepted tolerance');

/** Whether any secret in the list can verify (empty strings never do). */
export function hasUsableSecret(options: VerifyOptions): boolean {
  for (const secret of options.secrets) if (secret.length > 0) return true;
  return false;
}

/**
 * The index of the first secret whose expected digest equals one of the candidates, or -1.
 * Every candidate is compared for every secret, so timing does not tell which one matched.
 */
function firstMatch<T>(
  options: VerifyOptions,
  candidates: readonly T[],
  expected: (secret: string) => T,
  equal: (a: T, b: T) => boolean,
): number {
  const { secrets } = options;
  for (let index = 0; index < secrets.length; index++) {
    const secret = secrets[index]!;
    if (secret.length === 0) continue;
    const digest = expected(secret);
    let matched = false;
    for (const candidate of candidates) if (equal(digest, candidate)) matched = true;
    if (matched) return index;
  }
  return -1;
}

/** `firstMatch` over raw bytes (tokens compared as they are). */
export function matchSecret(
  options: VerifyOptions,
  candidates: readonly Buffer[],
  expected: (secret: string) => Buffer,
): number {
  return firstMatch(options, candidates, expected, safeEqual);
}

/**
 * `firstMatch` over digests as text (normalised hex or base64): the fast path, since Node produces
 * and compares short strings faster than it allocates Buffers.
 */
export function matchDigest(
  options: VerifyOptions,
  candidates: readonly string[],
  expected: (secret: string) => string,
): number {
  return firstMatch(options, candidates, expected, safeEqualDigest);
}

/** Whether a timestamp (in ms) is within tolerance of now, in both directions; the boundary is accepted. */
export function withinTolerance(timestampMs: number, options: VerifyOptions, defaultToleranceSeconds: number): boolean {
  const now = options.now ?? Date.now();
  const tolerance = (options.toleranceSeconds ?? defaultToleranceSeconds) * 1000;
  return Math.abs(now - timestampMs) <= tolerance;
}

const INTEGER = /^\d{1,16}$/;

/** Parses a whole non-negative number of a header (seconds or ms), or null. */
export function parseInteger(value: string): number | null {
  return INTEGER.test(value) ? Number(value) : null;
}
