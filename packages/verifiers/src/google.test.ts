import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { base64url, type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { googleHeaders, type SignGooglePushTokenInput, signGooglePushToken } from './google.js';
import { VerifierUsageError, type VerifyOptions, type VerifyResult, verifyWebhook } from './index.js';

const NOW_MS = Date.UTC(2026, 10, 28, 12, 0, 0);
const AUDIENCE = 'https://hooks.example.com/webhooks/reg_google';
const EMAIL = 'pubsub-push@example-project.iam.gserviceaccount.com';
const KID = 'test-key-1';
const BODY = '{"message":{"data":"e30=","messageId":"1"},"subscription":"projects/p/subscriptions/s"}';

let privateKey: CryptoKey;
let jwks: { keys: JWK[] };
let otherPrivateKey: CryptoKey;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  privateKey = pair.privateKey;
  jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'RS256', use: 'sig' }] };
  otherPrivateKey = (await generateKeyPair('RS256', { extractable: true })).privateKey;
});

const token = (overrides: Partial<SignGooglePushTokenInput> = {}) =>
  signGooglePushToken({ privateKey, kid: KID, audience: AUDIENCE, email: EMAIL, nowMs: NOW_MS, ...overrides });

const options = (google: VerifyOptions['google'] = {}, overrides: Partial<VerifyOptions> = {}): VerifyOptions => ({
  secrets: [],
  now: NOW_MS,
  google: { audience: AUDIENCE, serviceAccountEmail: EMAIL, jwks, ...google },
  ...overrides,
});

const verify = (jwt: string, opts: VerifyOptions = options(), url?: string) =>
  verifyWebhook('google', { headers: googleHeaders(jwt), body: BODY, url }, opts);

function expectInvalidToken(result: VerifyResult, jwt: string, message?: string): void {
  expect(result).toMatchObject({ ok: false, reason: 'invalid_token' });
  if (result.ok) return;
  expect(result.message).not.toContain(jwt);
  if (message !== undefined) expect(result.message).toBe(message);
}

describe('verifyWebhook(google, local jwks)', () => {
  it('accepts a Pub/Sub push token and reports secretIndex 0, ignoring secrets', async () => {
    expect(await verify(await token())).toEqual({ ok: true, secretIndex: 0 });
    expect(await verify(await token(), options({}, { secrets: ['whatever'] }))).toEqual({ ok: true, secretIndex: 0 });
  });

  it('accepts the issuer without https://', async () => {
    expect(await verify(await token({ issuer: 'accounts.google.com' }))).toMatchObject({ ok: true });
  });

  it('defaults the audience to request.url', async () => {
    const opts = options({ audience: undefined });
    const jwt = await token();
    expect(await verify(jwt, opts, AUDIENCE)).toMatchObject({ ok: true });
    expectInvalidToken(await verify(jwt, opts, `${AUDIENCE}/other`), jwt, 'The token is for another audience');
  });

  it('fails with invalid_token and says why when there is neither an audience nor request.url', async () => {
    const result = await verify(await token(), options({ audience: undefined }));
    expect(result).toMatchObject({ ok: false, reason: 'invalid_token' });
    if (!result.ok) expect(result.message).toContain('audience');
  });

  it('fails with no_secret when no push service account is configured', async () => {
    const result = await verify(await token(), options({ serviceAccountEmail: undefined }));
    expect(result).toMatchObject({ ok: false, reason: 'no_secret' });
    if (!result.ok) expect(result.message).toContain('service account');
  });

  it('rejects a token for another audience', async () => {
    const jwt = await token({ audience: 'https://other.example.com/push' });
    expectInvalidToken(await verify(jwt), jwt, 'The token is for another audience');
  });

  it('rejects a token from another issuer', async () => {
    const jwt = await token({ issuer: 'https://evil.example.com' });
    expectInvalidToken(await verify(jwt), jwt, 'The token was not issued by Google');
  });

  it('rejects a token for another account (any Google account can mint one for our audience)', async () => {
    const jwt = await token({ email: 'attacker@gmail.com' });
    expectInvalidToken(await verify(jwt), jwt, 'The token was not issued to the configured push service account');
  });

  it('rejects a token whose email is not verified', async () => {
    const jwt = await token({ emailVerified: false });
    expectInvalidToken(await verify(jwt), jwt, "The token's email is not verified");
  });

  it('accepts an expired token within the leeway and rejects it beyond', async () => {
    // Issued 1 h + 299 s ago: expired 299 s ago, inside the default 300 s leeway.
    expect(await verify(await token({ nowMs: NOW_MS - 3_899_000 }))).toMatchObject({ ok: true });
    const jwt = await token({ nowMs: NOW_MS - 3_901_000 });
    expectInvalidToken(await verify(jwt), jwt, 'The token has expired');
  });

  it('honours toleranceSeconds as the leeway', async () => {
    const jwt = await token({ nowMs: NOW_MS - 3_610_000 });
    expect(await verify(jwt, options({}, { toleranceSeconds: 11 }))).toMatchObject({ ok: true });
    expectInvalidToken(await verify(jwt, options({}, { toleranceSeconds: 9 })), jwt, 'The token has expired');
  });

  it('rejects a token issued beyond the leeway in the future as not yet valid', async () => {
    expect(await verify(await token({ nowMs: NOW_MS + 299_000 }))).toMatchObject({ ok: true });
    const jwt = await token({ nowMs: NOW_MS + 301_000 });
    expectInvalidToken(await verify(jwt), jwt, 'The token is not valid yet');
  });

  it('rejects an unsigned alg none token', async () => {
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
    const claims = { iss: 'https://accounts.google.com', aud: AUDIENCE, email: EMAIL, email_verified: true };
    const payload = base64url.encode(JSON.stringify({ ...claims, iat: NOW_MS / 1000, exp: NOW_MS / 1000 + 3600 }));
    const jwt = `${header}.${payload}.`;
    expectInvalidToken(await verify(jwt), jwt);
  });

  it('rejects an HS256 token signed with a string', async () => {
    const jwt = await new SignJWT({ email: EMAIL, email_verified: true })
      .setProtectedHeader({ alg: 'HS256', kid: KID })
      .setIssuer('https://accounts.google.com')
      .setAudience(AUDIENCE)
      .setIssuedAt(NOW_MS / 1000)
      .setExpirationTime(NOW_MS / 1000 + 3600)
      .sign(new TextEncoder().encode('a shared secret anyone could guess'));
    expectInvalidToken(await verify(jwt), jwt, 'The token is not signed with RS256');
  });

  it('rejects a token signed by another key under the same kid', async () => {
    const jwt = await token({ privateKey: otherPrivateKey });
    expectInvalidToken(await verify(jwt), jwt, "The token's signature does not verify with Google's keys");
  });

  it('rejects a token whose kid is not among the keys', async () => {
    const jwt = await token({ privateKey: otherPrivateKey, kid: 'unknown-kid' });
    expectInvalidToken(await verify(jwt), jwt, "The token's signature does not verify with Google's keys");
  });

  it('rejects a garbage token with invalid_token', async () => {
    expectInvalidToken(await verify('not.a.jwt'), 'not.a.jwt');
    expectInvalidToken(await verify('garbage'), 'garbage');
  });

  it('throws VerifierUsageError for options.google.jwks that is not a JWKS', async () => {
    const jwt = await token();
    const notJwks = { keys: 'nope' } as unknown as { keys: object[] };
    await expect(verify(jwt, options({ jwks: notJwks }))).rejects.toBeInstanceOf(VerifierUsageError);
    await expect(verify(jwt, options({ jwks: { keys: [1 as unknown as object] } }))).rejects.toBeInstanceOf(
      VerifierUsageError,
    );
  });

  it('fails with missing_header without Authorization and malformed_header for another scheme', async () => {
    const opts = options();
    expect(await verifyWebhook('google', { headers: {}, body: BODY }, opts)).toMatchObject({
      reason: 'missing_header',
    });
    const basic = { headers: { authorization: 'Basic dXNlcjpwYXNz' }, body: BODY };
    expect(await verifyWebhook('google', basic, opts)).toMatchObject({ reason: 'malformed_header' });
  });
});

describe('verifyWebhook(google, jwksUri)', () => {
  let server: Server;
  let base: string;
  const hits = new Map<string, number>();

  beforeAll(async () => {
    server = createServer((request, response) => {
      hits.set(request.url ?? '', (hits.get(request.url ?? '') ?? 0) + 1);
      if (request.url?.startsWith('/certs')) {
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
      } else {
        response.writeHead(500).end('boom');
      }
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => {
    server.close();
  });

  it('fetches the keys from jwksUri once and then serves them from the cache', async () => {
    const opts = options({ jwks: undefined, jwksUri: `${base}/certs?cache-test` });
    expect(await verify(await token(), opts)).toMatchObject({ ok: true });
    expect(await verify(await token({ nowMs: NOW_MS - 1000 }), opts)).toMatchObject({ ok: true });
    expect(hits.get('/certs?cache-test')).toBe(1);
  });

  it('rejects a token from another key fetched through jwksUri', async () => {
    const opts = options({ jwks: undefined, jwksUri: `${base}/certs?other-key` });
    const jwt = await token({ privateKey: otherPrivateKey });
    expectInvalidToken(await verify(jwt, opts), jwt, "The token's signature does not verify with Google's keys");
  });

  it('fails with invalid_token, without throwing, when the key endpoint answers 500', async () => {
    const opts = options({ jwks: undefined, jwksUri: `${base}/broken` });
    const jwt = await token();
    expectInvalidToken(await verify(jwt, opts), jwt, "Google's signing keys could not be loaded");
  });

  it('fails with invalid_token, without throwing, when the key endpoint is unreachable', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const { port } = closed.address() as AddressInfo;
    closed.close();
    await once(closed, 'close');
    const jwt = await token();
    const opts = options({ jwks: undefined, jwksUri: `http://127.0.0.1:${port}/certs` });
    expectInvalidToken(await verify(jwt, opts), jwt, "Google's signing keys could not be loaded");
  });
});
