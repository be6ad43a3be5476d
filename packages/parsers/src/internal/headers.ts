import type { HeaderMap } from '@webhooks/core';
import { invalidPayload } from './errors.js';

function headerValues(headers: HeaderMap, name: string): string[] {
  // Node lower-cases incoming names, so the fast path is one own-property read.
  let value = Object.hasOwn(headers, name) ? headers[name] : undefined;
  if (value === undefined) {
    for (const key of Object.keys(headers)) {
      if (key.length === name.length && key.toLowerCase() === name) {
        value = headers[key];
        break;
      }
    }
  }
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
  return [];
}

/**
 * One header value (`name` in lower case), trimmed; undefined when absent or empty. A repeated
 * header whose copies differ is ambiguous (which delivery id is it?), so it is invalid.
 */
export function header(headers: HeaderMap, name: string): string | undefined {
  const values = headerValues(headers, name).map((value) => value.trim());
  const first = values[0];
  if (first === undefined || first.length === 0) return undefined;
  if (values.some((value) => value !== first)) throw invalidPayload('Ambiguous repeated header');
  return first;
}
