import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { ApiKeyRecord, ApiKeyStore } from '@webhooks/core';
import { WebhookError } from '@webhooks/core';
import { createRemoteJWKSet, type JWTVerifyGetKey, jwtVerify } from 'jose';

export interface Principal {
  tenantId: string;
  via: 'api-key' | 'jwt';
  keyId?: string;
}

export interface JwtAuthOptions {
  issuer: string;
  audience: string;
  jwksUri: string;
  /** The claim that names the tenant. */
  tenantClaim: string;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const KEY_SHAPE = /^[\x21-\x7e]{16,512}$/;

/** SHA-256 of an API key: keys are random and long, so a fast hash is the right one (no salt needed). */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * Bearer authentication: API keys (stored as hashes, looked up by hash, so no key is ever compared
 * as text) and, when configured, JWTs from an identity provider (issuer, audience, JWKS, tenant claim).
 */
export class Authenticator {
  readonly #store: ApiKeyStore;
  readonly #jwt: (JwtAuthOptions & { keys: JWTVerifyGetKey }) | undefined;

  constructor(store: ApiKeyStore, jwt?: JwtAuthOptions) {
    this.#store = store;
    this.#jwt = jwt ? { ...jwt, keys: createRemoteJWKSet(new URL(jwt.jwksUri)) } : undefined;
  }

  /** The principal for an Authorization header, or null when it proves nothing. */
  async authenticate(authorization: string | undefined): Promise<Principal | null> {
    if (typeof authorization !== 'string') return null;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    const token = match?.[1];
    if (token === undefined) return null;
    if (this.#jwt && JWT_SHAPE.test(token)) return this.#verifyJwt(token);
    if (!KEY_SHAPE.test(token)) return null;
    const record = await this.#store.findApiKeyByHash(hashApiKey(token));
    if (!record || record.revokedAt) return null;
    return { tenantId: record.tenantId, via: 'api-key', keyId: record.id };
  }

  async #verifyJwt(token: string): Promise<Principal | null> {
    const jwt = this.#jwt!;
    try {
      const { payload } = await jwtVerify(token, jwt.keys, {
        issuer: jwt.issuer,
        audience: jwt.audience,
        algorithms: ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'PS256', 'EdDSA'],
      });
      const tenant = payload[jwt.tenantClaim];
      return typeof tenant === 'string' && tenant.length > 0 && tenant.length <= 200
        ? { tenantId: tenant, via: 'jwt' }
        : null;
    } catch {
      return null;
    }
  }

  /** Creates a key for the tenant; the key is returned here once and never stored. */
  async createKey(tenantId: string, name?: string): Promise<{ id: string; key: string; record: ApiKeyRecord }> {
    if (typeof tenantId !== 'string' || !/^[A-Za-z0-9_.-]{1,200}$/.test(tenantId)) {
      throw new WebhookError('invalid_request', 'tenantId must be 1-200 letters, digits, dots, dashes or underscores');
    }
    if (name !== undefined && (typeof name !== 'string' || name.length > 200)) {
      throw new WebhookError('invalid_request', 'name must be a string of at most 200 characters');
    }
    const key = `whk_${randomBytes(32).toString('base64url')}`;
    const record: ApiKeyRecord = {
      id: `key_${randomUUID().replaceAll('-', '')}`,
      tenantId,
      keyHash: hashApiKey(key),
      createdAt: new Date(),
    };
    if (name !== undefined) record.name = name;
    await this.#store.createApiKey(record);
    return { id: record.id, key, record };
  }

  /** Installs the keys of WEBHOOKS_API_KEYS (hashed); keys already present are left as they are. */
  async bootstrap(pairs: ReadonlyArray<{ tenantId: string; key: string }>): Promise<number> {
    let added = 0;
    for (const { tenantId, key } of pairs) {
      const keyHash = hashApiKey(key);
      if (await this.#store.findApiKeyByHash(keyHash)) continue;
      await this.#store.createApiKey({
        id: `key_env_${keyHash.slice(0, 16)}`,
        tenantId,
        keyHash,
        name: 'WEBHOOKS_API_KEYS',
        createdAt: new Date(),
      });
      added++;
    }
    return added;
  }

  listKeys(tenantId: string): Promise<ApiKeyRecord[]> {
    return this.#store.listApiKeys(tenantId);
  }

  revokeKey(id: string, tenantId: string): Promise<boolean> {
    return this.#store.revokeApiKey(id, tenantId, new Date());
  }
}
