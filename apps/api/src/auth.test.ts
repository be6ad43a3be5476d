import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryStore } from '@webhooks/service';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Authenticator, hashApiKey } from './auth.js';

let jwks: Server;
let jwksUri: string;
const { publicKey, privateKey } = await generateKeyPair('RS256');
const other = await generateKeyPair('RS256');

beforeAll(async () => {
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  jwks = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  jwksUri = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks`;
});
afterAll(() => new Promise<void>((resolve) => jwks.close(() => resolve())));

function token(
  claims: Record<string, unknown>,
  options: { key?: Parameters<SignJWT['sign']>[0]; issuer?: string; audience?: string; expiresIn?: string } = {},
) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(options.issuer ?? 'https://idp.example.com/')
    .setAudience(options.audience ?? 'webhooks-api')
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m')
    .sign(options.key ?? privateKey);
}

describe('Authenticator', () => {
  it('maps an API key to its tenant by hash, and refuses revoked, unknown and malformed keys', async () => {
    const store = new MemoryStore();
    const auth = new Authenticator(store);
    const { id, key } = await auth.createKey('tenant-a', 'ci');
    expect((await store.listApiKeys('tenant-a'))[0]).toMatchObject({ id, keyHash: hashApiKey(key) });
    expect(JSON.stringify(await store.listApiKeys('tenant-a'))).not.toContain(key);
    expect(await auth.authenticate(`Bearer ${key}`)).toEqual({ tenantId: 'tenant-a', via: 'api-key', keyId: id });
    expect(await auth.authenticate(`bearer   ${key}  `)).toMatchObject({ tenantId: 'tenant-a' });
    for (const header of [
      undefined,
      '',
      key,
      `Basic ${key}`,
      'Bearer ',
      'Bearer short',
      `Bearer ${key}x`,
      `Bearer ${'é'.repeat(40)}`,
    ]) {
      expect(await auth.authenticate(header)).toBeNull();
    }
    await auth.revokeKey(id, 'tenant-a');
    expect(await auth.authenticate(`Bearer ${key}`)).toBeNull();
  });

  it('accepts a JWT from the configured issuer, audience and keys, with the tenant from its claim', async () => {
    const auth = new Authenticator(new MemoryStore(), {
      issuer: 'https://idp.example.com/',
      audience: 'webhooks-api',
      jwksUri,
      tenantClaim: 'tid',
    });
    expect(await auth.authenticate(`Bearer ${await token({ tid: 'tenant-z' })}`)).toEqual({
      tenantId: 'tenant-z',
      via: 'jwt',
    });
  });

  it.each([
    ['another issuer', () => token({ tid: 't' }, { issuer: 'https://evil.example.com/' })],
    ['another audience', () => token({ tid: 't' }, { audience: 'something-else' })],
    ['another key', () => token({ tid: 't' }, { key: other.privateKey })],
    ['an expired token', () => token({ tid: 't' }, { expiresIn: '-10m' })],
    ['no tenant claim', () => token({ sub: 'user' })],
    ['a non-string tenant claim', () => token({ tid: 42 })],
  ])('refuses a JWT with %s', async (_, make) => {
    const auth = new Authenticator(new MemoryStore(), {
      issuer: 'https://idp.example.com/',
      audience: 'webhooks-api',
      jwksUri,
      tenantClaim: 'tid',
    });
    expect(await auth.authenticate(`Bearer ${await make()}`)).toBeNull();
  });

  it('refuses an unsigned (alg: none) JWT', async () => {
    const auth = new Authenticator(new MemoryStore(), {
      issuer: 'https://idp.example.com/',
      audience: 'webhooks-api',
      jwksUri,
      tenantClaim: 'tid',
    });
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const unsigned = `${part({ alg: 'none', typ: 'JWT' })}.${part({ tid: 't', iss: 'https://idp.example.com/', aud: 'webhooks-api', exp: 9_999_999_999 })}.`;
    expect(await auth.authenticate(`Bearer ${unsigned}`)).toBeNull();
    expect(await auth.authenticate(`Bearer ${unsigned}sig`)).toBeNull();
  });
});
