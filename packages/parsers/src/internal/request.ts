import type { HeaderMap, ParseRequest } from '@webhooks/core';
import { invalidPayload } from './errors.js';
import { isObject, type JsonObject } from './values.js';

/** GitHub payloads reach 25 MB; anything far beyond that is not a webhook. */
export const MAX_BODY_LENGTH = 32 * 1024 * 1024;
/** Batches (HubSpot, Graph, Salesforce outbound, Data Cloud) are capped well above real sizes. */
export const MAX_BATCH_ITEMS = 1000;
const MAX_FORM_FIELDS = 1000;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface ReadRequest {
  headers: HeaderMap;
  text: string;
  url: string | undefined;
}

/** Checks the request's shape and decodes its body as strict UTF-8 (a leading BOM is dropped). */
export function readRequest(request: ParseRequest): ReadRequest {
  if (!isObject(request)) throw invalidPayload('Invalid request');
  const { body, headers, url } = request;
  const headerMap: HeaderMap = isObject(headers) ? (headers as HeaderMap) : {};
  let text: string;
  if (typeof body === 'string') text = body;
  else if (body instanceof Uint8Array) {
    if (body.byteLength > MAX_BODY_LENGTH) throw invalidPayload('Body too large');
    try {
      text = utf8.decode(body);
    } catch {
      throw invalidPayload('Body is not valid UTF-8');
    }
  } else throw invalidPayload('Invalid body');
  if (text.length > MAX_BODY_LENGTH) throw invalidPayload('Body too large');
  return { headers: headerMap, text, url: typeof url === 'string' ? url : undefined };
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw invalidPayload('Body is not valid JSON');
  }
}

export function parseJsonObject(text: string): JsonObject {
  const value = parseJson(text);
  if (!isObject(value)) throw invalidPayload('Body is not a JSON object');
  return value;
}

/** True when the body looks like JSON rather than a form (`{` or `[` after whitespace). */
export function looksLikeJson(text: string): boolean {
  // Nearly every JSON body starts right away with its bracket: no need for the expression then.
  const first = text.charCodeAt(0);
  return first === 0x7b || first === 0x5b || /^\s*[[{]/.test(text);
}

/**
 * Decodes `application/x-www-form-urlencoded` into a plain object. Keys are taken literally
 * (`a[b]=1` is the key `a[b]`, never a nested object) and `__proto__` keys are dropped, so a form
 * can never reach Object.prototype. A repeated key gives an array of its values.
 */
export function parseForm(text: string): Record<string, string | string[]> {
  const form: Record<string, string | string[]> = {};
  let count = 0;
  for (const [key, value] of new URLSearchParams(text)) {
    if (++count > MAX_FORM_FIELDS) throw invalidPayload('Too many form fields');
    if (key === '__proto__') continue;
    const existing = Object.hasOwn(form, key) ? form[key] : undefined;
    if (existing === undefined) form[key] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else form[key] = [existing, value];
  }
  return form;
}

/** GitHub and Slack post forms whose `payload` field holds the JSON document. */
export function formPayload(text: string): JsonObject {
  const form = parseForm(text);
  const payload = Object.hasOwn(form, 'payload') ? form.payload : undefined;
  if (typeof payload !== 'string') throw invalidPayload('Form body has no payload field');
  return parseJsonObject(payload);
}
