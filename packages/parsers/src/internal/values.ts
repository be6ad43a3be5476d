/** A JSON object as JSON.parse gives it. */
export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Own properties only, so that a key taken from a header or payload (`constructor`, `__proto__`)
 * never reads Object.prototype.
 */
export function get(object: JsonObject, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/** A non-empty string field. */
export function getString(object: JsonObject, key: string): string | undefined {
  const value = get(object, key);
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * An identifier: a non-empty string, or an integer JSON.parse kept exactly. Integers beyond
 * 2^53 have already lost digits, so they count as missing rather than as a wrong id.
 */
export function getId(object: JsonObject, key: string): string | undefined {
  const value = get(object, key);
  if (typeof value === 'string') return value.length > 0 ? value : undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return undefined;
}

export function getObject(object: JsonObject, key: string): JsonObject | undefined {
  const value = get(object, key);
  return isObject(value) ? value : undefined;
}

export function getArray(object: JsonObject, key: string): unknown[] | undefined {
  const value = get(object, key);
  return Array.isArray(value) ? value : undefined;
}

/** A copy without the named keys; rest spread defines own properties, so `__proto__` stays data. */
export function omit(object: JsonObject, ...keys: string[]): JsonObject {
  const copy: JsonObject = { ...object };
  for (const key of keys) delete copy[key];
  return copy;
}

/** The text after the last occurrence of `separator`, or the whole text. */
export function afterLast(text: string, separator: string): string {
  const index = text.lastIndexOf(separator);
  return index === -1 ? text : text.slice(index + separator.length);
}

/** English plural to singular for API collection names (`issues`, `companies`, `addresses`). */
export function singular(word: string): string {
  if (/ies$/i.test(word)) return `${word.slice(0, -3)}y`;
  if (/(ss|sh|ch|x)es$/i.test(word)) return word.slice(0, -2);
  if (/[^su]s$/i.test(word)) return word.slice(0, -1);
  return word;
}

const NUMERIC = /^\d{1,16}(\.\d{1,9})?$/;

/**
 * A Date from a provider timestamp: a number or numeric string in `unit`, or an ISO 8601 /
 * RFC 2822 string. Undefined when absent or not a real date, so callers fall back to receipt time.
 */
export function toDate(value: unknown, unit: 's' | 'ms'): Date | undefined {
  let ms: number;
  if (typeof value === 'number') ms = unit === 's' ? value * 1000 : value;
  else if (typeof value === 'string' && value.length > 0 && value.length <= 64) {
    ms = NUMERIC.test(value) ? Number(value) * (unit === 's' ? 1000 : 1) : Date.parse(value);
  } else return undefined;
  if (!Number.isFinite(ms)) return undefined;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
