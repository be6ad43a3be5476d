import type { HandshakeResponse, VerifyOptions, VerifyResult, WebhookRequest } from '@webhooks/core';
import { bodyText, safeEqualString } from './internal/crypto.js';
import { parseJsonObject } from './internal/json.js';
import { fail, hasUsableSecret, noSecret, ok, signatureMismatch } from './internal/result.js';
import type { ProviderVerifier } from './internal/verifier.js';

const MAX_VALIDATION_TOKEN_LENGTH = 8 * 1024;

const notBatch = (): VerifyResult =>
  fail(
    'malformed_header',
    'The body is not a Graph notification batch: expected JSON {"value":[...]} with at least one item',
  );

/**
 * Microsoft Graph change notifications carry no signature: each notification in `value[]` echoes the
 * `clientState` we gave when subscribing. The batch is genuine only if every item carries the same
 * configured secret, so one forged item cannot ride along with genuine ones.
 */
export function verifyMsGraph(request: WebhookRequest, options: VerifyOptions): VerifyResult {
  if (!hasUsableSecret(options)) return noSecret();
  const payload = parseJsonObject(bodyText(request.body), Number.POSITIVE_INFINITY);
  const items = payload?.value;
  if (!Array.isArray(items) || items.length === 0) return notBatch();
  const states: string[] = [];
  for (const item of items) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return notBatch();
    const state = (item as Record<string, unknown>).clientState;
    if (typeof state !== 'string' || state.length === 0) {
      return fail('signature_mismatch', 'A notification carries no clientState');
    }
    states.push(state);
  }
  for (let index = 0; index < options.secrets.length; index++) {
    const secret = options.secrets[index]!;
    if (secret.length === 0) continue;
    // Every item is compared, so timing does not tell which one differed.
    let all = true;
    for (const state of states) if (!safeEqualString(state, secret)) all = false;
    if (all) return ok(index);
  }
  return signatureMismatch();
}

/**
 * Graph validates a subscription's URL with `POST ?validationToken=...` and expects the decoded token
 * back as text/plain within 10 s. There is nothing to verify: the token is Graph's, not a secret.
 */
export function msGraphHandshake(request: WebhookRequest): HandshakeResponse | null {
  if (request.method !== undefined && request.method.toUpperCase() !== 'POST') return null;
  if (typeof request.url !== 'string') return null;
  let tokens: string[];
  try {
    // The base lets a path-only URL (as Express gives it) work too.
    tokens = new URL(request.url, 'http://localhost').searchParams.getAll('validationToken');
  } catch {
    return null;
  }
  if (tokens.length !== 1) return null;
  const token = tokens[0]!;
  if (token.length === 0 || token.length > MAX_VALIDATION_TOKEN_LENGTH) return null;
  return { status: 200, contentType: 'text/plain; charset=utf-8', body: token };
}

export interface MsGraphNotification {
  subscriptionId: string;
  changeType: string;
  resource: string;
  resourceData?: Record<string, unknown>;
  [field: string]: unknown;
}

/** A notification batch as Graph posts it, with `clientState` set to the secret on every item. */
export function signMsGraph(input: { notifications: MsGraphNotification[]; secret: string }): string {
  const value = input.notifications.map((notification) => ({ ...notification, clientState: input.secret }));
  return JSON.stringify({ value });
}

export const msgraph: ProviderVerifier = { id: 'msgraph', verify: verifyMsGraph, handshake: msGraphHandshake };
