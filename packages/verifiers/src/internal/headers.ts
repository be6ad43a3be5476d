import type { HeaderMap } from '@webhooks/core';

/** Every value of a header, whatever the case of its name and whether it was repeated. */
export function headerValues(headers: HeaderMap, name: string): string[] {
  // Node lower-cases incoming names, so the fast path is one property read.
  let value = Object.hasOwn(headers, name) ? headers[name] : undefined;
  if (value === undefined) {
    for (const key of Object.keys(headers)) {
      if (key.length === name.length && key.toLowerCase() === name) {
        value = headers[key];
        break;
      }
    }
  }
  if (value === undefined) return [];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
  return [];
}

export type SingleHeader = { ok: true; value: string } | { ok: false; reason: 'missing_header' | 'malformed_header' };

/**
 * One value for a header that must not be ambiguous (timestamps, ids). A repeated header whose
 * copies agree is accepted; copies that differ are malformed.
 */
export function singleHeader(headers: HeaderMap, name: string): SingleHeader {
  const values = headerValues(headers, name);
  if (values.length === 0) return { ok: false, reason: 'missing_header' };
  const first = values[0]!.trim();
  for (let i = 1; i < values.length; i++) {
    if (values[i]!.trim() !== first) return { ok: false, reason: 'malformed_header' };
  }
  if (first.length === 0) return { ok: false, reason: 'missing_header' };
  return { ok: true, value: first };
}
