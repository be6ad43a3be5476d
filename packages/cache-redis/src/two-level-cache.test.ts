import type { WebhookRegistration } from '@webhooks/core';
import { createAesGcmSecretBox } from '@webhooks/service';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestRedisServer, waitFor } from './test-support.js';
import { createTwoLevelCache, type TwoLevelRegistrationCache } from './two-level-cache.js';

const box = createAesGcmSecretBox('cache-redis test key');
const ID = 'wh_0123456789abcdef';

function registration(overrides: Partial<WebhookRegistration> = {}): WebhookRegistration {
  return {
    id: ID,
    tenantId: 'tenant-1',
    integrationId: 'github',
    connectionId: 'conn-1',
    webhookUrl: `https://hooks.example.com/webhooks/${ID}`,
    webhookSecret: 'whsec_one',
    events: ['issue.*'],
    status: 'active',
    isVerified: true,
    failureCount: 0,
    createdAt: new Date('2026-11-28T12:00:00.000Z'),
    updatedAt: new Date('2026-11-28T12:00:00.000Z'),
    ...overrides,
  };
}

let server: TestRedisServer;
const clients: Redis[] = [];
const caches: TwoLevelRegistrationCache[] = [];

/** One receiver instance's cache: two connections of its own, as in production. */
async function instance(keyPrefix: string, options: { l1TtlMs?: number; instanceId?: string; fenceMs?: number } = {}) {
  const redis = await server.client();
  const subscriber = await server.client();
  clients.push(redis, subscriber);
  const cache = await createTwoLevelCache({ redis, subscriber, secretBox: box, keyPrefix, ...options });
  caches.push(cache);
  return { cache, redis, subscriber };
}

beforeAll(async () => {
  server = await TestRedisServer.start();
});

afterAll(async () => {
  for (const cache of caches) await cache.close();
  for (const c of clients) c.disconnect();
  await server.stop();
});

describe('createTwoLevelCache', () => {
  it('get after an L1 miss is served from Redis, then from L1 without Redis', async () => {
    const a = await instance('two1:');
    const b = await instance('two1:');
    await a.cache.set(registration());
    expect(await b.cache.get(ID)).toEqual(registration());
    expect(b.cache.stats().l2).toMatchObject({ hits: 1, misses: 0 });
    expect(await b.cache.get(ID)).toEqual(registration());
    expect(b.cache.stats().l2).toMatchObject({ hits: 1, misses: 0 });
    expect(b.cache.stats()).toMatchObject({ hits: 2, misses: 0, hitRate: 1 });
  });

  it('getLocal answers from L1 only, without a promise, and stops once another instance invalidates', async () => {
    const a = await instance('two1b:');
    const b = await instance('two1b:');
    await a.cache.set(registration());
    // In Redis, not yet in B's L1: getLocal does not go to Redis for it.
    expect(b.cache.getLocal(ID)).toBeUndefined();
    expect(b.cache.stats().l2).toMatchObject({ hits: 0, misses: 0 });
    await b.cache.get(ID);
    expect(b.cache.getLocal(ID)).toEqual(registration());
    expect(b.cache.stats()).toMatchObject({ hits: 2, misses: 0 });
    await a.cache.invalidate(ID);
    await waitFor(async () => b.cache.getLocal(ID) === undefined, "B's eviction");
  });

  it('stats gives the hit rate over both levels; a miss at both is a miss', async () => {
    const a = await instance('two2:');
    expect(await a.cache.get(ID)).toBeNull();
    await a.cache.set(registration());
    await a.cache.get(ID);
    await a.cache.get(ID);
    await a.cache.get(ID);
    expect(a.cache.stats()).toMatchObject({ hits: 3, misses: 1, hitRate: 0.75 });
  });

  it('an entry past the L1 TTL is fetched from Redis again', async () => {
    const a = await instance('two3:', { l1TtlMs: 50 });
    await a.cache.set(registration());
    await a.cache.get(ID);
    expect(a.cache.stats().l2.hits).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await a.cache.get(ID)).not.toBeNull();
    expect(a.cache.stats().l2.hits).toBe(1);
  });

  it('after instance A invalidates, instance B stops serving the registration from its L1', async () => {
    const a = await instance('two4:');
    const b = await instance('two4:');
    await a.cache.set(registration());
    expect(await b.cache.get(ID)).not.toBeNull();
    expect(await b.cache.get(ID)).not.toBeNull(); // now in B's L1

    await a.cache.invalidate(ID);
    await waitFor(async () => (await b.cache.get(ID)) === null, "B's eviction");
    expect(await a.cache.get(ID)).toBeNull();
  });

  it('after a rotation on A, B serves the new secret, not the old one from its L1', async () => {
    const a = await instance('two5:', { fenceMs: 200 });
    const b = await instance('two5:', { fenceMs: 200 });
    await b.cache.set(registration());
    expect((await b.cache.get(ID))?.webhookSecret).toBe('whsec_one');

    // A rotates: the store now holds whsec_two; A invalidates; B's next miss reads the store.
    await a.cache.invalidate(ID);
    await waitFor(async () => (await b.cache.get(ID)) === null, "B's eviction");
    await new Promise((resolve) => setTimeout(resolve, 250)); // past the fence
    await b.cache.set(registration({ webhookSecret: 'whsec_two' }));
    expect((await b.cache.get(ID))?.webhookSecret).toBe('whsec_two');
    expect((await a.cache.get(ID))?.webhookSecret).toBe('whsec_two');
  });

  it('set on B of a registration read before A invalidated it does not stick at either level', async () => {
    const a = await instance('two6:');
    const b = await instance('two6:');
    const readBeforeTheChange = registration({ webhookSecret: 'whsec_old' });
    await a.cache.invalidate(ID);
    await waitFor(async () => {
      // B's subscription delivers the message; until then a late set may land, after it must not.
      await b.cache.set(readBeforeTheChange);
      return (await b.cache.get(ID)) === null;
    }, 'the fence at B');
    expect(await a.cache.get(ID)).toBeNull();
  });

  it('drops the whole L1 when its subscription reconnects, since messages may have been lost meanwhile', async () => {
    const a = await instance('two7:', { instanceId: 'a7' });
    await a.cache.set(registration());
    await a.cache.get(ID);
    expect(a.cache.stats().l2.hits).toBe(0);

    const admin = await server.client();
    clients.push(admin);
    // Other tests' subscribers go too; each of them resubscribes the same way.
    await admin.client('KILL', 'TYPE', 'pubsub');
    await waitFor(() => a.subscriber.status !== 'ready', 'the disconnection');
    await waitFor(() => a.subscriber.status === 'ready', 'the reconnection');
    await waitFor(async () => {
      const [, count] = (await admin.pubsub('NUMSUB', a.cache.l2.channel)) as [string, number];
      return count === 1;
    }, 'the resubscription');

    expect(await a.cache.get(ID)).not.toBeNull();
    expect(a.cache.stats().l2.hits).toBe(1);
    expect(a.cache.stats()).toMatchObject({ hits: 2, misses: 0 });
  });
});
