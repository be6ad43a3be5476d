import type { SyncTask } from '@webhooks/core';
import { createAesGcmSecretBox, MemoryStore, MemorySyncQueue, WebhookManagementService } from '@webhooks/service';
import { signGitHub } from '@webhooks/verifiers';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisDedupeAccelerator, withRedisDedupe } from './dedupe.js';
import { RedisRateLimiter } from './rate-limiter.js';
import { TestRedisServer, waitFor } from './test-support.js';
import { createTwoLevelCache, type TwoLevelRegistrationCache } from './two-level-cache.js';

const box = createAesGcmSecretBox('cache-redis fault test key');
let server: TestRedisServer;
const clients: Redis[] = [];
const caches: TwoLevelRegistrationCache[] = [];

beforeAll(async () => {
  server = await TestRedisServer.start();
});

afterAll(async () => {
  for (const cache of caches) await cache.close();
  for (const c of clients) c.disconnect();
  await server.stop();
});

/** The shared truth (store and queue) and one receiver instance on top of it, wired as apps/api would. */
async function receiver(name: string, store: MemoryStore, queue: MemorySyncQueue) {
  const redis = await server.client();
  const subscriber = await server.client();
  clients.push(redis, subscriber);
  // A short L1 TTL so that Redis is asked often enough for its death and return to matter, and a
  // short fence so that the invalidation of the first verified delivery does not cover the whole run.
  const cache = await createTwoLevelCache({
    redis,
    subscriber,
    secretBox: box,
    instanceId: name,
    l1TtlMs: 50,
    fenceMs: 100,
  });
  caches.push(cache);
  const rateLimiter = new RedisRateLimiter({ redis });
  const dedupe = new RedisDedupeAccelerator(redis);
  const service = new WebhookManagementService({
    registrations: store,
    deliveries: withRedisDedupe(store, dedupe),
    outbox: store,
    queue,
    cache,
    rateLimiter,
    publicBaseUrl: 'https://hooks.example.com',
    rateLimit: { perMinute: 1_000_000, floodPerMinute: 1_000_000 },
  });
  return { name, redis, subscriber, cache, rateLimiter, dedupe, service };
}

describe('a Redis that dies mid-run', () => {
  it('costs providers no errors and accepts nothing twice, and Redis serves again once it is back', async () => {
    const store = new MemoryStore({ keepDeliveries: 10_000 });
    const queue = new MemorySyncQueue();
    // Every enqueue call, before the queue's own duplicate detection could hide a second one.
    const enqueued = new Map<string, number>();
    const enqueue = queue.enqueue.bind(queue);
    queue.enqueue = async (task: SyncTask, options) => {
      enqueued.set(task.deliveryId, (enqueued.get(task.deliveryId) ?? 0) + 1);
      await enqueue(task, options);
    };
    const a = await receiver('a', store, queue);
    const b = await receiver('b', store, queue);
    const { registration } = await a.service.registerWebhook('tenant-1', 'github', 'conn-1', ['issue.*']);

    const accepted: string[] = [];
    const statuses = new Map<number, number>();
    let next = 0;
    let sent = 0;
    async function deliver(deliveryId: string, via: typeof a) {
      const body = JSON.stringify({ action: 'opened', issue: { id: 1000 + sent, number: 1 } });
      const headers = {
        ...signGitHub({ body, secret: registration.webhookSecret, deliveryId, event: 'issues' }),
        'content-type': 'application/json',
      };
      const result = await via.service.processWebhookEvent(registration.id, headers, body);
      statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1);
      if (result.status < 300 && !result.duplicate) accepted.push(deliveryId);
      return result;
    }
    /**
     * Ten concurrent deliveries over both instances; every third repeats one sent before, from
     * long ago or from the previous batch.
     */
    async function batch(during?: Promise<void>) {
      const requests: Array<Promise<unknown>> = [];
      const previous = next;
      for (let i = 0; i < 10; i++, sent++) {
        const repeat = sent % 3 === 2 && previous > 0;
        const repeated = sent % 2 === 0 ? (sent * 7) % previous : previous - 1 - (sent % Math.min(previous, 5));
        const deliveryId = repeat ? `d-${repeated}` : `d-${next++}`;
        requests.push(deliver(deliveryId, sent % 2 === 0 ? a : b));
      }
      await Promise.all([...requests, during]);
    }

    const started = performance.now();
    for (let i = 0; i < 10; i++) await batch();
    expect(a.dedupe.stats().fastDuplicates + b.dedupe.stats().fastDuplicates).toBeGreaterThan(0);

    // SIGKILL while a batch is in flight: commands die mid-way, then every call is refused.
    await batch(server.kill('SIGKILL'));
    const down = { a: a.rateLimiter.stats().fallback, b: b.rateLimiter.stats().fallback };
    for (let i = 0; i < 10; i++) await batch();
    expect(a.rateLimiter.stats().fallback).toBeGreaterThan(down.a);
    expect(b.rateLimiter.stats().fallback).toBeGreaterThan(down.b);
    const downMs = performance.now() - started;

    await server.restart();
    for (const c of [a.redis, a.subscriber, b.redis, b.subscriber])
      await waitFor(() => c.status === 'ready', 'reconnection');
    const before = {
      limiter: a.rateLimiter.stats().redis + b.rateLimiter.stats().redis,
      fast: a.dedupe.stats().fastDuplicates + b.dedupe.stats().fastDuplicates,
      l2: a.cache.stats().l2.hits + b.cache.stats().l2.hits,
    };
    for (let i = 0; i < 10; i++) {
      await batch();
      await new Promise((resolve) => setTimeout(resolve, 20)); // let L1 entries expire now and then
    }

    // No provider saw an error: 200s, and duplicates answered 200 too.
    expect([...statuses.keys()].every((status) => status === 200 || status === 202)).toBe(true);
    expect([...statuses.values()].reduce((x, y) => x + y, 0)).toBe(sent);
    // Each delivery id was accepted once and triggered exactly one queue message.
    expect(new Set(accepted).size).toBe(accepted.length);
    expect(accepted.length).toBe(next);
    for (let i = 0; i < next; i++) expect(enqueued.get(`d-${i}`), `d-${i}`).toBe(1);
    expect(queue.messages.length).toBe(next);
    expect(new Set(queue.messages.map((m) => m.task.deliveryId)).size).toBe(next);

    // Redis serves again: shared limits, fast duplicates, the second cache level.
    expect(a.rateLimiter.stats().redis + b.rateLimiter.stats().redis).toBeGreaterThan(before.limiter);
    expect(a.dedupe.stats().fastDuplicates + b.dedupe.stats().fastDuplicates).toBeGreaterThan(before.fast);
    expect(a.cache.stats().l2.hits + b.cache.stats().l2.hits).toBeGreaterThan(before.l2);
    const admin = await server.client();
    clients.push(admin);
    const [, subscribers] = (await admin.pubsub('NUMSUB', a.cache.l2.channel)) as [string, number];
    expect(subscribers).toBe(2);

    // And invalidation crosses instances again: unregistered on A, B stops serving it at once.
    await b.cache.get(registration.id);
    await a.service.unregisterWebhook(registration.id, 'tenant-1');
    await waitFor(async () => (await b.cache.get(registration.id)) === null, "B's eviction");
    const afterDelete = await deliver('d-after-delete', b);
    expect(afterDelete.status).toBe(404);

    // Loose: failing fast means the forty batches with a dead Redis in the middle took seconds, not minutes.
    expect(downMs).toBeLessThan(30_000);
  }, 60_000);
});
