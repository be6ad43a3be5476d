import type {
  DeliveryRecord,
  EnqueueBatchItem,
  EnqueueOptions,
  NewOutboxTask,
  SyncQueue,
  SyncTask,
} from '@webhooks/core';
import { describe, expect, it } from 'vitest';
import { createEmbeddedWorker, OutboxDispatcher } from './dispatcher.js';
import { MemoryStore } from './memory/memory-store.js';
import { failing, ManualClock } from './test-support.js';

/** A queue with enqueueBatch that records every call and drops duplicates by messageId. */
class BatchQueue implements SyncQueue {
  readonly batchCalls: string[][] = [];
  readonly singleCalls: string[] = [];
  readonly accepted = new Map<string, SyncTask>();
  /** Every send fails (the broker is down). */
  down = false;
  /** Message ids the queue refuses (say, too large); a batch holding one fails whole. */
  readonly poison = new Set<string>();

  async enqueue(task: SyncTask, options: EnqueueOptions): Promise<void> {
    this.singleCalls.push(options.messageId);
    if (this.down) throw new Error('queue down');
    if (this.poison.has(options.messageId)) throw new Error(`task ${options.messageId} is too large`);
    if (!this.accepted.has(options.messageId)) this.accepted.set(options.messageId, structuredClone(task));
  }

  async enqueueBatch(items: readonly EnqueueBatchItem[]): Promise<void> {
    this.batchCalls.push(items.map((i) => i.messageId));
    if (this.down) throw new Error('queue down');
    const bad = items.find((i) => this.poison.has(i.messageId));
    if (bad) throw new Error(`task ${bad.messageId} is too large`);
    for (const item of items) if (!this.accepted.has(item.messageId)) this.accepted.set(item.messageId, item.task);
  }
}

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

function tasks(count: number, now: number, prefix = 'm'): NewOutboxTask[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `${prefix}-${i}`,
    messageId: `${prefix}-${i}`,
    task: {
      integrationId: 'github',
      connectionId: 'conn-1',
      syncType: 'webhook_triggered',
      webhookEventId: `issue-${i}`,
      metadata: { webhook: 'reg_1' },
      tenantId: 'tenant-1',
      eventType: 'opened',
      entityType: 'issue',
      entityId: `issue-${i}`,
      deliveryId: `delivery-${i}`,
    },
    availableAt: new Date(now),
    maxAttempts: 5,
  }));
}

async function setUp(count: number, options: Partial<ConstructorParameters<typeof OutboxDispatcher>[0]> = {}) {
  const clock = new ManualClock();
  const store = new MemoryStore();
  const queue = new BatchQueue();
  const all = tasks(count, clock.now());
  await store.append(delivery('d-1'), all);
  const dispatcher = new OutboxDispatcher({
    outbox: store,
    queue,
    clock,
    retryPolicy: { backoffSeconds: 10 },
    ...options,
  });
  return { clock, store, queue, dispatcher, all };
}

describe('OutboxDispatcher with a queue that has enqueueBatch', () => {
  it('sends a claimed round as one batch call and completes every task', async () => {
    const { store, queue, dispatcher, all } = await setUp(250, { batchSize: 250 });
    expect(await dispatcher.runOnce()).toEqual({ claimed: 250, sent: 250, retried: 0, dead: 0, batches: 1 });
    expect(queue.batchCalls).toHaveLength(1);
    expect([...queue.batchCalls[0]!].sort()).toEqual(all.map((t) => t.messageId).sort());
    expect(queue.singleCalls).toEqual([]);
    expect(await store.listOutbox({ limit: 1000 })).toEqual([]);
    expect(await dispatcher.runOnce()).toMatchObject({ claimed: 0, batches: 0 });
  });

  it('one round per claimed batch: 250 tasks at batchSize 100 take three calls', async () => {
    const { queue, dispatcher } = await setUp(250);
    const rounds = [await dispatcher.runOnce(), await dispatcher.runOnce(), await dispatcher.runOnce()];
    expect(rounds.map((r) => [r.claimed, r.sent, r.batches])).toEqual([
      [100, 100, 1],
      [100, 100, 1],
      [50, 50, 1],
    ]);
    expect(queue.batchCalls.map((c) => c.length)).toEqual([100, 100, 50]);
    expect(queue.accepted.size).toBe(250);
  });

  it('a failed batch falls back to task-by-task sends: one bad task does not block the rest', async () => {
    const { clock, store, queue, dispatcher } = await setUp(20);
    queue.poison.add('m-7');
    expect(await dispatcher.runOnce()).toEqual({ claimed: 20, sent: 19, retried: 1, dead: 0, batches: 0 });
    expect(queue.batchCalls).toHaveLength(1);
    expect(queue.singleCalls).toHaveLength(20);
    expect(queue.accepted.size).toBe(19);
    const [left] = await store.listOutbox();
    expect(left).toMatchObject({ id: 'm-7', status: 'pending', attempts: 1, lastError: 'task m-7 is too large' });
    // Backoff: 10 s for the first retry, then 20 s.
    expect(left!.availableAt.getTime()).toBe(clock.now() + 10_000);
    clock.advance(9_999);
    expect(await dispatcher.runOnce()).toMatchObject({ claimed: 0 });
    clock.advance(1);
    expect(await dispatcher.runOnce()).toMatchObject({ claimed: 1, retried: 1 });
    expect((await store.listOutbox())[0]!.availableAt.getTime()).toBe(clock.now() + 20_000);
    // A lone task is sent with enqueue, not as a batch of one.
    expect(queue.batchCalls).toHaveLength(1);
    queue.poison.clear();
    clock.advance(20_000);
    expect(await dispatcher.runOnce()).toMatchObject({ claimed: 1, sent: 1, batches: 0 });
    expect(queue.accepted.size).toBe(20);
  });

  it('with the queue down it stops trying task by task after three failures, and retries the round with backoff', async () => {
    const { clock, store, queue, dispatcher, all } = await setUp(100);
    queue.down = true;
    expect(await dispatcher.runOnce()).toEqual({ claimed: 100, sent: 0, retried: 100, dead: 0, batches: 0 });
    expect(queue.batchCalls).toHaveLength(1);
    expect(queue.singleCalls).toHaveLength(3);
    const waiting = await store.listOutbox({ limit: 1000 });
    expect(waiting).toHaveLength(100);
    expect(waiting.every((t) => t.attempts === 1 && t.lastError === 'queue down')).toBe(true);

    queue.down = false;
    clock.advance(10_000);
    expect(await dispatcher.runOnce()).toEqual({ claimed: 100, sent: 100, retried: 0, dead: 0, batches: 1 });
    expect([...queue.accepted.keys()].sort()).toEqual(all.map((t) => t.messageId).sort());
  });

  it('queueDownAfter: 0 tries every task', async () => {
    const { queue, dispatcher } = await setUp(10, { queueDownAfter: 0 });
    queue.down = true;
    expect(await dispatcher.runOnce()).toMatchObject({ claimed: 10, retried: 10 });
    expect(queue.singleCalls).toHaveLength(10);
  });

  it('batchSends: false sends task by task', async () => {
    const { queue, dispatcher } = await setUp(5, { batchSends: false });
    expect(await dispatcher.runOnce()).toMatchObject({ claimed: 5, sent: 5, batches: 0 });
    expect(queue.batchCalls).toEqual([]);
    expect(queue.singleCalls).toHaveLength(5);
  });

  it('a task whose complete fails after the batch went out is sent again after its lease, and the queue drops the repeat', async () => {
    const clock = new ManualClock();
    const memory = new MemoryStore();
    const store = failing(memory, ['complete', 'completeMany']);
    const queue = new BatchQueue();
    await memory.append(delivery('d-1'), tasks(5, clock.now()));
    const dispatcher = new OutboxDispatcher({ outbox: store, queue, clock, leaseMs: 30_000 });
    store.failing = true;
    expect(await dispatcher.runOnce()).toMatchObject({ claimed: 5, sent: 5, retried: 0, batches: 1 });
    store.failing = false;
    expect(await dispatcher.runOnce()).toMatchObject({ claimed: 0 });
    clock.advance(30_001);
    expect(await dispatcher.runOnce()).toMatchObject({ claimed: 5, sent: 5, batches: 1 });
    expect(queue.batchCalls).toHaveLength(2);
    expect(queue.accepted.size).toBe(5);
    expect(await memory.listOutbox()).toEqual([]);
  });

  it('a handler (the embedded queue) gets every task tried, however many fail', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore();
    await store.append(delivery('d-1'), tasks(10, clock.now()));
    let calls = 0;
    const worker = createEmbeddedWorker({
      outbox: store,
      clock,
      handler: async () => {
        calls++;
        throw new Error('sync backend busy');
      },
    });
    expect(await worker.runOnce()).toMatchObject({ claimed: 10, retried: 10, batches: 0 });
    expect(calls).toBe(10);
  });
});
