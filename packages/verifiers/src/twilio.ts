import type { VerifyOptions, VerifyResult, WebhookRequest } from '@webhooks/core';
import { type BodyHmacScheme, candidateDigests } from './internal/body-hmac.js';
import { bodyBytes, bodyText, hmacDigest, normalizeHex, safeEqualString, sha256Hex } from './internal/crypto.js';
import { headerValues } from './internal/headers.js';
import {
  fail,
  hasUsableSecret,
  malformedHeader,
  matchDigest,
  missingHeader,
  noSecret,
  ok,
  signatureMismatch,
} from './internal/result.js';
import { VerifierUsageError } from './internal/usage.js';
import type { ProviderVerifier } from './internal/verifier.js';

const scheme: BodyHmacScheme = { header: 'x-twilio-signature', prefix: '', encoding: 'base64', algorithm: 'sha1' };
const BODY_HASH_PARAM = 'bodySHA256';

/**
 * Twilio: `X-Twilio-Signature: <base64 HMAC-SHA1>` keyed by the auth token, over the full URL
 * followed by each form parameter's name and value, sorted by name. JSON bodies are bound through
 * `bodySHA256=<hex>` in the URL instead, and then the signature covers the URL alone.
 */
export function verifyTwilio(request: WebhookRequest, options: VerifyOptions): VerifyResult {
  const url = requireUrl(request);
  if (!hasUsableSecret(options)) return noSecret();
  const values = headerValues(request.headers, scheme.header);
  if (values.length === 0) return missingHeader(scheme.header);
  const candidates = candidateDigests(scheme, values);
  if (candidates === null) return malformedHeader(scheme.header, '<base64 HMAC-SHA1>');
  const parsed = parseUrl(url);
  if (parsed === null) return fail('malformed_header', 'request.url is not an absolute URL');
  const bodyHashes = parsed.searchParams.getAll(BODY_HASH_PARAM);
  if (bodyHashes.length > 1) return fail('malformed_header', 'request.url carries more than one bodySHA256');

  const params = bodyHashes.length === 1 ? '' : formParamsString(bodyText(request.body));
  // Twilio's SDKs accept the URL as configured, with the default port added and with any port removed,
  // because Twilio's own signing is inconsistent about ports. The first secret that matches any form wins.
  let index = -1;
  for (const form of urlForms(url, parsed)) {
    const matched = matchDigest(options, candidates, (secret) => hmacDigest('sha1', 'base64', secret, form, params));
    if (matched >= 0 && (index < 0 || matched < index)) index = matched;
  }
  if (index < 0) return signatureMismatch();
  if (bodyHashes.length === 1) {
    const claimed = normalizeHex(bodyHashes[0]!, 32);
    if (claimed === null || !safeEqualString(claimed, sha256Hex(bodyBytes(request.body)))) {
      return fail('signature_mismatch', 'The body does not match the bodySHA256 in the signed URL');
    }
  }
  return ok(index);
}

function requireUrl(request: WebhookRequest): string {
  const { url } = request;
  if (typeof url !== 'string' || url.startsWith('/')) {
    throw new VerifierUsageError('twilio needs request.url: the full URL Twilio called, with its query string');
  }
  return url;
}

function parseUrl(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/** The URL as given, then as twilio-node normalises it: with the scheme's default port, and without any port. */
function urlForms(url: string, parsed: URL): string[] {
  const withoutPort = new URL(parsed.href);
  withoutPort.port = '';
  let withPort = parsed.href;
  if (parsed.port === '') {
    const auth =
      parsed.username || parsed.password ? `${parsed.username}${parsed.password ? `:${parsed.password}` : ''}@` : '';
    const port = parsed.protocol === 'https:' ? 443 : 80;
    withPort = `${parsed.protocol}//${auth}${parsed.host}:${port}${parsed.pathname}${parsed.search}${parsed.hash}`;
  }
  return [...new Set([url, parsed.href, withPort, withoutPort.href])];
}

/**
 * The form parameters as Twilio signs them: names sorted, each name followed by its value. A
 * repeated name contributes each distinct value once, values sorted, as twilio-node and
 * twilio-python do (`name+v1` `name+v2`). Sorting is by UTF-16 code units, like Array#sort.
 */
export function formParamsString(body: string): string {
  const params = new Map<string, Set<string>>();
  for (const [name, value] of new URLSearchParams(body)) {
    const values = params.get(name) ?? new Set<string>();
    values.add(value);
    params.set(name, values);
  }
  let signed = '';
  for (const name of [...params.keys()].sort()) {
    for (const value of [...params.get(name)!].sort()) signed += name + value;
  }
  return signed;
}

/** The URL Twilio calls for a JSON body: the configured URL plus `bodySHA256=<hex sha256(body)>`. */
export function twilioJsonUrl(url: string, body: string | Uint8Array): string {
  const separator = url.includes('?') ? '&' : '?';
  return `${url}${separator}${BODY_HASH_PARAM}=${sha256Hex(bodyBytes(body))}`;
}

export interface SignTwilioInput {
  /** The full URL Twilio calls; for a JSON body, the one from `twilioJsonUrl`. */
  url: string;
  /** A form-encoded body, or the JSON body when `url` carries bodySHA256. */
  body: string | Uint8Array;
  /** The account's auth token. */
  secret: string;
}

/** Headers Twilio would send: the signature over the URL (and the form parameters, for a form body). */
export function signTwilio(input: SignTwilioInput): Record<string, string> {
  const json = new URL(input.url).searchParams.has(BODY_HASH_PARAM);
  const params = json ? '' : formParamsString(bodyText(input.body));
  return {
    'content-type': json ? 'application/json' : 'application/x-www-form-urlencoded',
    'x-twilio-signature': hmacDigest('sha1', 'base64', input.secret, input.url, params),
  };
}

export const twilio: ProviderVerifier = { id: 'twilio', verify: verifyTwilio };
