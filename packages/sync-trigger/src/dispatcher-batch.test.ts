import type { DeliveryRecord, NewOutboxTask } from '@webhooks/core';
import { MemoryStore, OutboxDispatcher } from '@webhooks/service';
import { type ServiceBusTestBroker, startServiceBusTestBroker } from '@webhooks/testkit';
import { afterEach, expect, test } from 'vitest';
import { ServiceBusSyncQueue } from './servicebus-queue.js';
import { fastRetry, syncTask } from './test-support.js';

const brokers: ServiceBusTestBroker[] = [];
const queues: ServiceBusSyncQueue[] = [];

afterEach(async () => {
  for (const queue of queues.splice(0)) await queue.close();
  for (const broker of brokers.splice(0)) await broker.close();
});

function delivery(id: string): DeliveryRecord {
  return {
    id,
    registrationId: 'reg_1',
    tenantId: 'tenant-1',
    receivedAt: new Date(0),
    headers: {},
    body: new Uint8Array(),
    outcome: 'queued',
    events: [],
    dedupeKeys: [],
    syncTriggered: false,
  };
}

function outboxTasks(count: number, now: number): NewOutboxTask[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `task-${i}`,
    messageId: `msg-${i}`,
    task: syncTask(i),
    availableAt: new Date(now),
    maxAttempts: 10,
  }));
}

async function broker(options: { port?: number; maxMessageSizeInBytes?: number } = {}): Promise<ServiceBusTestBroker> {
  const started = await startServiceBusTestBroker({
    ...options,
    queues: ['sync-tasks'],
    requiresDuplicateDetection: true,
  });
  brokers.push(started);
  return started;
}

test('a dispatcher round of 250 tasks goes out in a few batch transfers, each task exactly once', async () => {
  // A 32 KB message limit makes the SDK split the round into several batches (about 500 bytes a task).
  const sb = await broker({ maxMessageSizeInBytes: 32 * 1024 });
  const queue = new ServiceBusSyncQueue(sb.connectionString, 'sync-tasks', { retry: fastRetry });
  queues.push(queue);
  const store = new MemoryStore();
  const all = outboxTasks(250, Date.now());
  await store.append(delivery('d-1'), all);
  const dispatcher = new OutboxDispatcher({ outbox: store, queue, batchSize: 250 });

  expect(await dispatcher.runOnce()).toEqual({ claimed: 250, sent: 250, retried: 0, dead: 0, batches: 1 });
  expect(await store.listOutbox({ limit: 1000 })).toEqual([]);

  const messages = sb.messages('sync-tasks');
  expect(messages).toHaveLength(250);
  expect(new Set(messages.map((m) => m.messageId)).size).toBe(250);
  expect(messages.map((m) => m.messageId).sort()).toEqual(all.map((t) => t.messageId).sort());
  expect(messages.every((m) => m.batched)).toBe(true);
  expect(messages.map((m) => (m.body as { deliveryId: string }).deliveryId).sort()).toEqual(
    all.map((t) => t.task.deliveryId).sort(),
  );
  const stats = sb.stats();
  expect(stats.batches).toBeGreaterThan(1);
  expect(stats.transfers).toBe(stats.batches);
  expect(stats.transfers).toBeLessThan(25);
  expect(stats.duplicatesDropped).toBe(0);
}, 30_000);

test('a batch that fails part-way falls back to single sends; what the batch already sent is dropped as a duplicate', async () => {
  // With an 8 KB limit, the 20 KB task cannot join a batch: enqueueBatch sends the first chunk,
  // then throws. The dispatcher knows none as sent and sends all 30 one by one.
  const sb = await broker({ maxMessageSizeInBytes: 8 * 1024 });
  const queue = new ServiceBusSyncQueue(sb.connectionString, 'sync-tasks', { retry: fastRetry });
  queues.push(queue);
  const store = new MemoryStore();
  const all = outboxTasks(30, Date.now());
  all[4]!.task.metadata.note = 'x'.repeat(20 * 1024);
  await store.append(delivery('d-1'), all);
  const dispatcher = new OutboxDispatcher({ outbox: store, queue, retryPolicy: { backoffSeconds: 1 } });

  // (The test broker takes a single message over its announced limit; a real namespace would
  // refuse it, and only that task would wait in the outbox.)
  expect(await dispatcher.runOnce()).toEqual({ claimed: 30, sent: 30, retried: 0, dead: 0, batches: 0 });
  const ids = sb.messages('sync-tasks').map((m) => m.messageId);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids.sort()).toEqual(all.map((t) => t.messageId).sort());
  const stats = sb.stats();
  expect(stats.batches).toBe(1);
  expect(stats.duplicatesDropped).toBe(4);
  expect(await store.listOutbox()).toEqual([]);
}, 30_000);

test('across a broker outage the round is retried with backoff, then sent as one batch', async () => {
  const first = await broker();
  const queue = new ServiceBusSyncQueue(first.connectionString, 'sync-tasks', {
    retry: { ...fastRetry, maxRetries: 0 },
  });
  queues.push(queue);
  let now = Date.now();
  const store = new MemoryStore();
  const all = outboxTasks(100, now);
  await store.append(delivery('d-1'), all);
  const dispatcher = new OutboxDispatcher({
    outbox: store,
    queue,
    clock: { now: () => now },
    retryPolicy: { backoffSeconds: 1 },
  });
  await first.close();
  const started = Date.now();
  expect(await dispatcher.runOnce()).toEqual({ claimed: 100, sent: 0, retried: 100, dead: 0, batches: 0 });
  // One batch try and three single tries, not a hundred.
  expect(Date.now() - started).toBeLessThan(15_000);

  const second = await broker({ port: first.port });
  now += 2000;
  expect(await dispatcher.runOnce()).toEqual({ claimed: 100, sent: 100, retried: 0, dead: 0, batches: 1 });
  const ids = second.messages('sync-tasks').map((m) => m.messageId);
  expect(ids.sort()).toEqual(all.map((t) => t.messageId).sort());
  expect(first.messages('sync-tasks')).toEqual([]);
}, 60_000);
