import type { VerifyOptions, VerifyResult, WebhookRequest } from '@webhooks/core';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type CryptoKey as JoseCryptoKey,
  type JSONWebKeySet,
  type JWK,
  type JWTVerifyGetKey,
  jwtVerify,
  type KeyObject,
  SignJWT,
} from 'jose';
import { safeEqualString } from './internal/crypto.js';
import { singleHeader } from './internal/headers.js';
import { fail, malformedHeader, missingHeader, ok } from './internal/result.js';
import { VerifierUsageError } from './internal/usage.js';
import type { ProviderVerifier } from './internal/verifier.js';

export const GOOGLE_JWKS_URI = 'https://www.googleapis.com/oauth2/v3/certs';
const ISSUERS = ['accounts.google.com', 'https://accounts.google.com'];
const DEFAULT_LEEWAY_SECONDS = 300;
const MAX_TOKEN_LENGTH = 8 * 1024;
const BEARER = /^Bearer +(\S+)$/i;

// createRemoteJWKSet caches the keys and rate-limits refetches; one per URI keeps that cache alive.
const remoteKeySets = new Map<string, JWTVerifyGetKey>();
const localKeySets = new WeakMap<object, JWTVerifyGetKey>();

/**
 * Google Pub/Sub push: `Authorization: Bearer <OIDC JWT>` signed RS256 by Google. The token proves
 * who sent it only together with its claims: the issuer is Google, the audience is ours, and the
 * email is the push subscription's service account (any Google account can mint a token for any
 * audience). `options.secrets` plays no part.
 */
export async function verifyGoogle(request: WebhookRequest, options: VerifyOptions): Promise<VerifyResult> {
  const config = options.google ?? {};
  const email = config.serviceAccountEmail;
  if (typeof email !== 'string' || email.length === 0) {
    return fail(
      'no_secret',
      'No push service account is configured (options.google.serviceAccountEmail); any Google account can mint a token for this audience',
    );
  }
  const header = singleHeader(request.headers, 'authorization');
  if (!header.ok) {
    return header.reason === 'missing_header'
      ? missingHeader('authorization')
      : fail('malformed_header', 'Malformed authorization header: repeated with different values');
  }
  const token = BEARER.exec(header.value)?.[1];
  if (token === undefined) return malformedHeader('authorization', 'Bearer <JWT>');
  const audience = config.audience ?? request.url;
  if (audience === undefined || audience.length === 0) {
    return fail(
      'invalid_token',
      'No audience to check the token against: set options.google.audience or pass request.url',
    );
  }
  if (token.length > MAX_TOKEN_LENGTH) return fail('invalid_token', 'The token is too long');

  const leeway = options.toleranceSeconds ?? DEFAULT_LEEWAY_SECONDS;
  const now = options.now ?? Date.now();
  const keys = reportingKeyFailures(keySet(config));
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, keys, {
      algorithms: ['RS256'],
      issuer: ISSUERS,
      audience,
      clockTolerance: leeway,
      currentDate: new Date(now),
      requiredClaims: ['exp', 'iat'],
    }));
  } catch (error) {
    return fail('invalid_token', tokenFailure(error));
  }
  // jose checks iat only against a maximum age; a token issued in the future is not valid yet.
  if (typeof payload.iat !== 'number' || payload.iat > Math.floor(now / 1000) + leeway) {
    return fail('invalid_token', 'The token is not valid yet');
  }
  if (typeof payload.email !== 'string' || !safeEqualString(payload.email, email)) {
    return fail('invalid_token', 'The token was not issued to the configured push service account');
  }
  if (payload.email_verified !== true) return fail('invalid_token', "The token's email is not verified");
  return ok(0);
}

function keySet(config: NonNullable<VerifyOptions['google']>): JWTVerifyGetKey {
  if (config.jwks !== undefined) {
    const { jwks } = config;
    if (typeof jwks !== 'object' || jwks === null || !Array.isArray(jwks.keys)) {
      throw new VerifierUsageError('options.google.jwks must be a JWKS: { keys: [...] }');
    }
    // Keyed by the object, as jose copies the set: rotate keys by passing a new object.
    let local = localKeySets.get(jwks);
    if (local === undefined) {
      try {
        local = createLocalJWKSet(jwks as JSONWebKeySet);
      } catch {
        throw new VerifierUsageError('options.google.jwks must be a JWKS: { keys: [...] }');
      }
      localKeySets.set(jwks, local);
    }
    return local;
  }
  const uri = config.jwksUri ?? GOOGLE_JWKS_URI;
  let remote = remoteKeySets.get(uri);
  if (remote === undefined) {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw new VerifierUsageError('options.google.jwksUri must be an absolute URL');
    }
    remote = createRemoteJWKSet(url);
    remoteKeySets.set(uri, remote);
  }
  return remote;
}

/** Thrown when Google's keys cannot be had, so that it is not mistaken for a bad token. */
class KeysUnavailable extends Error {}

function reportingKeyFailures(getKey: JWTVerifyGetKey): JWTVerifyGetKey {
  return async (header, token) => {
    try {
      return await getKey(header, token);
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      // An unknown kid is the token's fault; anything else (network, HTTP status, bad JSON) is the key source's.
      if (code === 'ERR_JWKS_NO_MATCHING_KEY' || code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') throw error;
      throw new KeysUnavailable();
    }
  };
}

/** A short fixed message per failure; jose's own messages are never passed on. */
function tokenFailure(error: unknown): string {
  if (error instanceof KeysUnavailable) return "Google's signing keys could not be loaded";
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown; claim?: unknown }) : {};
  switch (code.code) {
    case 'ERR_JWT_EXPIRED':
      return 'The token has expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (code.claim === 'iss') return 'The token was not issued by Google';
      if (code.claim === 'aud') return 'The token is for another audience';
      if (code.claim === 'nbf') return 'The token is not valid yet';
      return 'The token lacks a required claim';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'The token is not signed with RS256';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return "The token's signature does not verify with Google's keys";
    default:
      return 'The token is malformed';
  }
}

export interface SignGooglePushTokenInput {
  privateKey: JoseCryptoKey | KeyObject | JWK | Uint8Array;
  kid: string;
  audience: string;
  /** The push subscription's service account. */
  email: string;
  /** Milliseconds since the epoch: the token's iat. */
  nowMs: number;
  /** Defaults to 3600, the lifetime of Google's tokens. */
  expiresInSeconds?: number;
  /** Defaults to true. */
  emailVerified?: boolean;
  /** Defaults to https://accounts.google.com. */
  issuer?: string;
}

/** An OIDC token shaped like the ones Pub/Sub push sends, signed with a test key. */
export async function signGooglePushToken(input: SignGooglePushTokenInput): Promise<string> {
  const iat = Math.floor(input.nowMs / 1000);
  return new SignJWT({ email: input.email, email_verified: input.emailVerified ?? true, azp: '113774264463038321964' })
    .setProtectedHeader({ alg: 'RS256', kid: input.kid, typ: 'JWT' })
    .setIssuer(input.issuer ?? 'https://accounts.google.com')
    .setAudience(input.audience)
    .setSubject('113774264463038321964')
    .setIssuedAt(iat)
    .setExpirationTime(iat + (input.expiresInSeconds ?? 3600))
    .sign(input.privateKey);
}

export function googleHeaders(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

export const google: ProviderVerifier = { id: 'google', verify: verifyGoogle };
