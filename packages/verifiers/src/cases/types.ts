import type { VerifyOptions, WebhookRequest } from '@webhooks/core';

/**
 * How the shared battery (battery.test.ts) builds a valid request for a provider and which of the
 * standard breakages apply to it. One file per provider in this folder.
 */
export interface ProviderCase {
  provider: string;
  /** Two distinct secrets of the provider's form. */
  secrets: [string, string];
  /** A realistic body, pretty-printed so that re-serialising it changes the bytes. */
  body: string;
  /** A valid request for this body, secret and time. */
  sign(input: { body: string | Uint8Array; secret: string; nowMs: number }): WebhookRequest;
  /** The header that carries the proof, when there is one (Graph's proof is in the body). */
  signatureHeader?: string;
  /**
   * Headers `sign` sets that the proof does not cover (delivery ids, event names, content type):
   * a request still verifies without them, so a hostile value there need not fail verification.
   */
  unprovenHeaders?: readonly string[];
  /** A value of the signature header that is not of the provider's form. */
  malformedValue: string;
  /** Extra options every verification needs (org id, Google audience and keys). */
  options?: Partial<VerifyOptions>;
  /** Whether the proof covers the body (false for Google's JWT, Graph's clientState, ...). */
  bodyBound: boolean;
  /** Whether `sign` takes any bytes as the body unchanged (false where the body carries the timestamp). */
  signsAnyBytes: boolean;
  /** Whether a second, wrong copy of the signature header beside the right one still verifies. */
  acceptsSeveralSignatures: boolean;
  /** Whether the secret list is used at all (false for Google and Salesforce outbound messages). */
  usesSecrets: boolean;
  /** The freshness window, when the provider has one. */
  freshness?: {
    toleranceSeconds: number;
    resign(input: { body: string | Uint8Array; secret: string; timestampMs: number }): WebhookRequest;
  };
}

export const NOW_MS = Date.UTC(2026, 10, 28, 12, 0, 0);

/** A pretty-printed JSON body, so that `JSON.stringify(JSON.parse(body))` differs from it. */
export function prettyJson(value: unknown): string {
  return JSON.stringify(value, null, 2);
}
