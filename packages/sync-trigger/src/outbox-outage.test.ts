import type { DeliveryRecord, NewOutboxTask } from '@webhooks/core';
import { MemoryStore, OutboxDispatcher } from '@webhooks/service';
import { type ServiceBusTestBroker, startServiceBusTestBroker } from '@webhooks/testkit';
import { afterAll, expect, test } from 'vitest';
import { ServiceBusSyncQueue } from './servicebus-queue.js';
import { fastRetry, syncTask } from './test-support.js';

const brokers: ServiceBusTestBroker[] = [];
let queue: ServiceBusSyncQueue | undefined;

afterAll(async () => {
  await queue?.close();
  for (const broker of brokers) await broker.close();
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

test('the outbox delivers every task exactly once across a broker outage', async () => {
  const start = async (port = 0): Promise<ServiceBusTestBroker> => {
    const broker = await startServiceBusTestBroker({ port, queues: ['sync-tasks'], requiresDuplicateDetection: true });
    brokers.push(broker);
    return broker;
  };
  const first = await start();
  let now = Date.now();
  const clock = { now: () => now };
  const store = new MemoryStore();
  queue = new ServiceBusSyncQueue(first.connectionString, 'sync-tasks', { retry: { ...fastRetry, maxRetries: 0 } });
  const dispatcher = new OutboxDispatcher({
    outbox: store,
    queue,
    clock,
    batchSize: 100,
    retryPolicy: { backoffSeconds: 1 },
  });

  const tasks: NewOutboxTask[] = Array.from({ length: 30 }, (_, i) => ({
    id: `task-${i}`,
    messageId: `msg-${i}`,
    task: syncTask(i),
    availableAt: new Date(now),
    maxAttempts: 10,
  }));

  // Up: the first ten go straight through.
  await store.append(delivery('d-1'), tasks.slice(0, 10));
  expect(await dispatcher.runOnce()).toMatchObject({ claimed: 10, sent: 10 });

  // Down: the next twenty stay in the outbox, each with a failed attempt and a backoff.
  await first.close();
  await store.append(delivery('d-2'), tasks.slice(10));
  const down = await dispatcher.runOnce();
  expect(down).toMatchObject({ claimed: 20, sent: 0, retried: 20, dead: 0 });
  const waiting = await store.listOutbox({ status: 'pending' });
  expect(waiting).toHaveLength(20);
  expect(waiting[0]?.lastError).toMatch(/Service Bus/);
  expect(waiting[0]?.lastError).not.toContain('SharedAccessKey');

  // Back on the same address: after the backoff the same client delivers them all.
  const second = await start(first.port);
  now += 5_000;
  expect(await dispatcher.runOnce()).toMatchObject({ claimed: 20, sent: 20, retried: 0 });
  expect(await dispatcher.runOnce()).toMatchObject({ claimed: 0 });
  expect(await store.listOutbox()).toEqual([]);

  const delivered = [...first.messages('sync-tasks'), ...second.messages('sync-tasks')].map((m) => m.messageId);
  expect(delivered).toHaveLength(30);
  expect(new Set(delivered).size).toBe(30);
  expect(delivered.sort()).toEqual(tasks.map((t) => t.messageId).sort());
  expect(second.messages('sync-tasks').map((m) => m.messageId)).toEqual(tasks.slice(10).map((t) => t.messageId));

  // A task sent again (say its lease ran out before complete) is dropped by duplicate detection.
  await queue.enqueue(tasks[15]!.task, { messageId: tasks[15]!.messageId });
  expect(second.messages('sync-tasks')).toHaveLength(20);
  expect(second.stats().duplicatesDropped).toBe(1);
}, 60_000);
