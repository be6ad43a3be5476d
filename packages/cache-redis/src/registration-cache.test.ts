import type { WebhookRegistration } from '@webhooks/core';
import { createAesGcmSecretBox } from '@webhooks/service';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient } from './client.js';
import { RedisRegistrationCache } from './registration-cache.js';
import { TestRedisServer, waitFor } from './test-support.js';

const box = createAesGcmSecretBox('cache-redis test key');
const SECRET = 'whsec_current-secret-AAAAAAAAAAAAAAAAAAAAAAAA';
const OLD_SECRET = 'whsec_previous-secret-BBBBBBBBBBBBBBBBBBBBBBB';

function registration(id = 'wh_0123456789abcdef', overrides: Partial<WebhookRegistration> = {}): WebhookRegistration {
  return {
    id,
    tenantId: 'tenant-1',
    integrationId: 'github',
    connectionId: 'conn-1',
    webhookUrl: `https://hooks.example.com/webhooks/${id}`,
    webhookSecret: SECRET,
    previousSecrets: [{ secret: OLD_SECRET, expiresAt: new Date('2026-12-01T00:00:00.000Z') }],
    events: ['issue.*'],
    status: 'active',
    isVerified: true,
    failureCount: 0,
    metadata: { team: 'payments', since: '2026-01-01T00:00:00.000Z' },
    createdAt: new Date('2026-11-28T12:00:00.000Z'),
    updatedAt: new Date('2026-11-28T12:30:00.000Z'),
    etag: '"3"',
    ...overrides,
  };
}

let server: TestRedisServer;
const clients: Redis[] = [];
async function client(): Promise<Redis> {
  const c = await server.client();
  clients.push(c);
  return c;
}

beforeAll(async () => {
  server = await TestRedisServer.start();
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await server.stop();
});

describe('RedisRegistrationCache', () => {
  it('get after set returns the registration with its Dates and secrets', async () => {
    const cache = new RedisRegistrationCache({ redis: await client(), secretBox: box, keyPrefix: 't1:' });
    await cache.set(registration());
    const found = await cache.get('wh_0123456789abcdef');
    expect(found).toEqual(registration());
    expect(found?.createdAt).toBeInstanceOf(Date);
    expect(found?.previousSecrets?.[0]?.expiresAt).toBeInstanceOf(Date);
    // Strings that look like dates stay strings: only the registration's own Date fields are revived.
    expect(found?.metadata?.since).toBe('2026-01-01T00:00:00.000Z');
  });

  it('stores no secret in plain text: the raw Redis value holds only a sealed bundle', async () => {
    const redis = await client();
    const cache = new RedisRegistrationCache({ redis, secretBox: box, keyPrefix: 't2:' });
    await cache.set(registration());
    const raw = await redis.get(cache.key('wh_0123456789abcdef'));
    expect(raw).toBeTruthy();
    expect(raw).not.toContain(SECRET);
    expect(raw).not.toContain(OLD_SECRET);
    expect(raw).not.toContain('whsec_');
    expect(raw).toContain('"secrets":"v1.');
    expect(raw).toContain('"tenantId":"tenant-1"');
  });

  it('get is a miss for an entry sealed under another key', async () => {
    const redis = await client();
    const writer = new RedisRegistrationCache({
      redis,
      secretBox: createAesGcmSecretBox('another key'),
      keyPrefix: 't3:',
    });
    const reader = new RedisRegistrationCache({ redis, secretBox: box, keyPrefix: 't3:' });
    await writer.set(registration());
    expect(await reader.get('wh_0123456789abcdef')).toBeNull();
    expect(reader.stats()).toMatchObject({ hits: 0, misses: 1 });
  });

  it('set keeps an entry for 24 hours by default, and ttlMs shortens it', async () => {
    const redis = await client();
    const cache = new RedisRegistrationCache({ redis, secretBox: box, keyPrefix: 't4:' });
    await cache.set(registration());
    const ttl = await redis.pttl(cache.key('wh_0123456789abcdef'));
    expect(ttl).toBeGreaterThan(24 * 3600_000 - 60_000);
    expect(ttl).toBeLessThanOrEqual(24 * 3600_000);

    const short = new RedisRegistrationCache({ redis, secretBox: box, keyPrefix: 't4s:', ttlMs: 100 });
    await short.set(registration());
    expect(await short.get('wh_0123456789abcdef')).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await short.get('wh_0123456789abcdef')).toBeNull();
  });

  it('stats counts hits and misses and gives the hit rate', async () => {
    const cache = new RedisRegistrationCache({ redis: await client(), secretBox: box, keyPrefix: 't5:' });
    expect(cache.stats()).toEqual({ hits: 0, misses: 0, hitRate: 0, errors: 0 });
    await cache.set(registration());
    await cache.get('wh_0123456789abcdef');
    await cache.get('wh_0123456789abcdef');
    await cache.get('wh_0123456789abcdef');
    await cache.get('wh_missing00000000');
    expect(cache.stats()).toEqual({ hits: 3, misses: 1, hitRate: 0.75, errors: 0 });
  });

  it('invalidate deletes the key and tells other instances, not itself', async () => {
    const redis = await client();
    const a = new RedisRegistrationCache({ redis, secretBox: box, keyPrefix: 't6:', instanceId: 'a' });
    const b = new RedisRegistrationCache({ redis: await client(), secretBox: box, keyPrefix: 't6:', instanceId: 'b' });
    const seenByA: string[] = [];
    const seenByB: string[] = [];
    const stopA = await a.subscribeInvalidations(await client(), { onInvalidate: (id) => seenByA.push(id) });
    const stopB = await b.subscribeInvalidations(await client(), { onInvalidate: (id) => seenByB.push(id) });
    await a.set(registration());
    await a.invalidate('wh_0123456789abcdef');
    expect(await redis.exists(a.key('wh_0123456789abcdef'))).toBe(0);
    await waitFor(() => seenByB.length === 1, 'the invalidation at b');
    expect(seenByB).toEqual(['wh_0123456789abcdef']);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seenByA).toEqual([]);
    await stopA();
    await stopB();
  });

  it('set right after an invalidation is refused, so a reader cannot put back what it read before the change', async () => {
    const redis = await client();
    const cache = new RedisRegistrationCache({ redis, secretBox: box, keyPrefix: 't7:', fenceMs: 300 });
    await cache.invalidate('wh_0123456789abcdef');
    await cache.set(registration());
    expect(await cache.get('wh_0123456789abcdef')).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 400));
    await cache.set(registration());
    expect(await cache.get('wh_0123456789abcdef')).not.toBeNull();
  });

  it('get, set and invalidate never throw while Redis is unreachable', async () => {
    const down = createRedisClient('redis://127.0.0.1:1', { retryStrategy: () => null });
    clients.push(down);
    const cache = new RedisRegistrationCache({ redis: down, secretBox: box });
    await expect(cache.set(registration())).resolves.toBeUndefined();
    await expect(cache.get('wh_0123456789abcdef')).resolves.toBeNull();
    await expect(cache.invalidate('wh_0123456789abcdef')).resolves.toBeUndefined();
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 1, errors: 3 });
    expect(cache.pendingInvalidations()).toEqual(['wh_0123456789abcdef']);
  });
});

describe('RedisRegistrationCache when its connection comes back', () => {
  it('sends the invalidations Redis missed, deleting what another instance cached meanwhile', async () => {
    const redis = await client();
    const other = await client();
    const cache = new RedisRegistrationCache({ redis, secretBox: box, keyPrefix: 't8:' });
    redis.disconnect();
    await waitFor(() => redis.status === 'end', 'the disconnection');
    await cache.invalidate('wh_0123456789abcdef');
    expect(cache.pendingInvalidations()).toEqual(['wh_0123456789abcdef']);
    // Written while the invalidation could not be sent, by an instance that never heard of the change.
    await other.set(cache.key('wh_0123456789abcdef'), 'stale');

    await redis.connect();
    await waitFor(() => cache.pendingInvalidations().length === 0, 'the resend');
    expect(await other.exists(cache.key('wh_0123456789abcdef'))).toBe(0);
  });
});
