import type { HeaderMap } from '@webhooks/core';
import { invalidPayload } from './errors.js';

/** A header's value as given (a string, or an array when repeated), whatever the case of its name. */
function rawHeader(headers: HeaderMap, name: string): unknown {
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
  return value;
}

/**
 * One header value (`name` in lower case), trimmed; undefined when absent or empty. A repeated
 * header whose copies differ is ambiguous (which delivery id is it?), so it is invalid.
 */
export function header(headers: HeaderMap, name: string): string | undefined {
  const value = rawHeader(headers, name);
  // The usual case, one string, without building a list of one.
  if (typeof value === 'string') {
    const trimmed = value.trim();
    return trimmed.length === 0 ? undefined : trimmed;
  }
  if (!Array.isArray(value)) return undefined;
  const values = value.filter((item): item is string => typeof item === 'string').map((item) => item.trim());
  const first = values[0];
  if (first === undefined || first.length === 0) return undefined;
  if (values.some((value) => value !== first)) throw invalidPayload('Ambiguous repeated header');
  return first;
}
