import type { DeliveryRecord } from '@webhooks/core';
import { MemoryStore } from '@webhooks/service';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRedisClient } from './client.js';
import { RedisDedupeAccelerator, withRedisDedupe } from './dedupe.js';
import { TestRedisServer } from './test-support.js';

const WEEK = 7 * 24 * 3600_000;
const NOW = new Date('2026-11-28T12:00:00.000Z');

function record(outcome: DeliveryRecord['outcome'], dedupeKeys: string[], id = `dlv_${Math.random()}`): DeliveryRecord {
  return {
    id,
    registrationId: 'wh_1',
    tenantId: 'tenant-1',
    receivedAt: NOW,
    headers: {},
    body: new Uint8Array(),
    outcome,
    events: [],
    dedupeKeys,
    syncTriggered: false,
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

const LEASE = 60_000;
const commit = (keys: string[]) => ({ keys, expiresAt: new Date(NOW.getTime() + WEEK) });

describe('withRedisDedupe', () => {
  it('answers a repeat of a committed delivery from Redis without asking the store', async () => {
    const redis = await client();
    const store = new MemoryStore();
    const accelerator = new RedisDedupeAccelerator(redis, { keyPrefix: 'dd1:' });
    const deliveries = withRedisDedupe(store, accelerator);
    expect(await deliveries.claimDedupeKey('wh_1', 'd-1', LEASE, NOW)).toBe('claimed');
    await deliveries.append(record('accepted', ['d-1']), [], commit(['d-1']));
    const ttl = await redis.pttl(accelerator.key('wh_1', 'd-1'));
    expect(ttl).toBeGreaterThan(WEEK - 60_000);
    expect(ttl).toBeLessThanOrEqual(WEEK);

    const storeClaim = vi.spyOn(store, 'claimDedupeKey');
    expect(await deliveries.claimDedupeKey('wh_1', 'd-1', LEASE, NOW)).toBe('duplicate');
    expect(storeClaim).not.toHaveBeenCalled();
    expect(accelerator.stats()).toEqual({ fastDuplicates: 1, storeDecisions: 1, errors: 0 });
  });

  it('asks the store about every key Redis does not know: the store stays the source of truth', async () => {
    const redis = await client();
    const store = new MemoryStore();
    const deliveries = withRedisDedupe(store, redis, { keyPrefix: 'dd2:' });
    // Claimed in the store by another path (or before Redis was flushed): Redis knows nothing.
    expect(await store.claimDedupeKey('wh_1', 'd-1', LEASE, NOW)).toBe('claimed');
    expect(await deliveries.claimDedupeKey('wh_1', 'd-1', LEASE, NOW)).toBe('in_progress');
    await store.append(record('accepted', ['d-1']), [], commit(['d-1']));
    expect(await deliveries.claimDedupeKey('wh_1', 'd-1', LEASE, NOW)).toBe('duplicate');
  });

  it('records nothing in Redis at claim time, nor for an append without commit, an in-flight or a released claim', async () => {
    const redis = await client();
    const store = new MemoryStore();
    const accelerator = new RedisDedupeAccelerator(redis, { keyPrefix: 'dd3:' });
    const deliveries = withRedisDedupe(store, accelerator);
    expect(await deliveries.claimDedupeKey('wh_1', 'd-1', LEASE, NOW)).toBe('claimed');
    expect(await redis.exists(accelerator.key('wh_1', 'd-1'))).toBe(0);
    // A duplicate record lists keys another request holds: no commit, nothing certain.
    await deliveries.append(record('duplicate', ['d-1']));
    // Even an accepted outcome records nothing without a commit.
    await deliveries.append(record('accepted', ['d-1']));
    expect(await redis.exists(accelerator.key('wh_1', 'd-1'))).toBe(0);
    expect(await deliveries.claimDedupeKey('wh_1', 'd-1', LEASE, NOW)).toBe('in_progress');

    // The store failed after the claim; the service released it so the provider's retry is taken.
    await deliveries.releaseDedupeKey('wh_1', 'd-1');
    expect(await deliveries.claimDedupeKey('wh_1', 'd-1', LEASE, NOW)).toBe('claimed');
  });

  it('records nothing when the append with commit fails', async () => {
    const redis = await client();
    const store = new MemoryStore();
    const accelerator = new RedisDedupeAccelerator(redis, { keyPrefix: 'dd6:' });
    const deliveries = withRedisDedupe(store, accelerator);
    expect(await deliveries.claimDedupeKey('wh_1', 'd-1', LEASE, NOW)).toBe('claimed');
    vi.spyOn(store, 'append').mockRejectedValueOnce(new Error('store down'));
    await expect(deliveries.append(record('accepted', ['d-1']), [], commit(['d-1']))).rejects.toThrow('store down');
    expect(await redis.exists(accelerator.key('wh_1', 'd-1'))).toBe(0);
    // Still pending in the store: once its lease has run out (a crashed process), it is claimed again.
    expect(await deliveries.claimDedupeKey('wh_1', 'd-1', LEASE, new Date(NOW.getTime() + LEASE))).toBe('claimed');
  });

  it('releaseDedupeKey frees the key in Redis and in the store', async () => {
    const redis = await client();
    const store = new MemoryStore();
    const accelerator = new RedisDedupeAccelerator(redis, { keyPrefix: 'dd4:' });
    const deliveries = withRedisDedupe(store, accelerator);
    await deliveries.claimDedupeKey('wh_1', 'd-1', LEASE, NOW);
    await deliveries.append(record('queued', ['d-1']), [], commit(['d-1']));
    expect(await redis.exists(accelerator.key('wh_1', 'd-1'))).toBe(1);
    await deliveries.releaseDedupeKey('wh_1', 'd-1');
    expect(await redis.exists(accelerator.key('wh_1', 'd-1'))).toBe(0);
    expect(await store.claimDedupeKey('wh_1', 'd-1', LEASE, NOW)).toBe('claimed');
  });

  it('delegates everything else to the store, private fields and all', async () => {
    const store = new MemoryStore();
    const deliveries = withRedisDedupe(store, await client(), { keyPrefix: 'dd5:' });
    await deliveries.append(record('accepted', [], 'dlv_a'));
    expect((await deliveries.getDelivery('dlv_a'))?.id).toBe('dlv_a');
    expect((await deliveries.listDeliveries('wh_1', 10)).map((d) => d.id)).toEqual(['dlv_a']);
    expect(await deliveries.counts()).toEqual({ total: 0, failed: 0 });
  });

  it('appendFresh: the store writes it once, Redis remembers it, and a repeat conflicts without the store', async () => {
    const redis = await client();
    const store = new MemoryStore();
    const accelerator = new RedisDedupeAccelerator(redis, { keyPrefix: 'dd6:' });
    const deliveries = withRedisDedupe(store, accelerator);
    const fresh = { commit: commit(['d-1']), now: NOW, countSuccess: true };
    expect(await deliveries.appendFresh!(record('accepted', ['d-1'], 'dlv_f1'), [], fresh)).toMatchObject({
      status: 'stored',
    });
    expect(await redis.exists(accelerator.key('wh_1', 'd-1'))).toBe(1);
    const storeFresh = vi.spyOn(store, 'appendFresh');
    expect(await deliveries.appendFresh!(record('accepted', ['d-1'], 'dlv_f2'), [], fresh)).toEqual({
      status: 'conflict',
      counted: false,
    });
    expect(storeFresh).not.toHaveBeenCalled();
    expect(await store.getDelivery('dlv_f2')).toBeNull();
    expect(await deliveries.claimDedupeKey('wh_1', 'd-1', LEASE, NOW)).toBe('duplicate');
    // A conflict the store found (a pending claim) is not remembered as a duplicate.
    expect(await deliveries.claimDedupeKey('wh_1', 'd-2', LEASE, NOW)).toBe('claimed');
    expect(
      await deliveries.appendFresh!(record('accepted', ['d-2'], 'dlv_f3'), [], { ...fresh, commit: commit(['d-2']) }),
    ).toMatchObject({ status: 'conflict' });
    expect(await redis.exists(accelerator.key('wh_1', 'd-2'))).toBe(0);
  });

  it('has no appendFresh when the store has none, so the service keeps the two-phase path', async () => {
    const store = new MemoryStore();
    const bare = new Proxy(store, {
      get: (target, property) => (property === 'appendFresh' ? undefined : Reflect.get(target, property, target)),
    });
    const deliveries = withRedisDedupe(bare, await client(), { keyPrefix: 'dd7:' });
    expect(deliveries.appendFresh).toBeUndefined();
  });

  it('lets the store decide while Redis is unreachable, so nothing is accepted twice', async () => {
    const down = createRedisClient('redis://127.0.0.1:1', { retryStrategy: () => null });
    clients.push(down);
    const accelerator = new RedisDedupeAccelerator(down);
    const deliveries = withRedisDedupe(new MemoryStore(), accelerator);
    expect(await deliveries.claimDedupeKey('wh_1', 'd-1', LEASE, NOW)).toBe('claimed');
    await deliveries.append(record('accepted', ['d-1']), [], commit(['d-1']));
    expect(await deliveries.claimDedupeKey('wh_1', 'd-1', LEASE, NOW)).toBe('duplicate');
    await deliveries.releaseDedupeKey('wh_1', 'd-2');
    expect(accelerator.stats()).toEqual({ fastDuplicates: 0, storeDecisions: 2, errors: 4 });
  });
});
