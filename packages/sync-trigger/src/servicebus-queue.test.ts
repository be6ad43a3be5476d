import { ServiceBusClient, type ServiceBusReceivedMessage } from '@azure/service-bus';
import { WebhookError } from '@webhooks/core';
import { type ServiceBusTestBroker, startServiceBusTestBroker } from '@webhooks/testkit';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkServiceBusQueue, ServiceBusSyncQueue, sessionIdFor, toServiceBusMessage } from './servicebus-queue.js';
import { fastRetry, syncTask } from './test-support.js';

let broker: ServiceBusTestBroker;
let client: ServiceBusClient;
const opened: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  broker = await startServiceBusTestBroker({
    queues: ['sync-tasks', 'ordered', 'batches', { name: 'dedupe', requiresDuplicateDetection: true }],
  });
  client = new ServiceBusClient(broker.connectionString, { retryOptions: fastRetry });
});

afterAll(async () => {
  for (const item of opened) await item.close();
  await client.close();
  await broker.close();
});

function queueFor(
  name: string,
  options: ConstructorParameters<typeof ServiceBusSyncQueue>[2] = {},
): ServiceBusSyncQueue {
  const queue = new ServiceBusSyncQueue(broker.connectionString, name, { retry: fastRetry, ...options });
  opened.push(queue);
  return queue;
}

async function receiveAll(queue: string, count: number): Promise<ServiceBusReceivedMessage[]> {
  const receiver = client.createReceiver(queue);
  try {
    const got: ServiceBusReceivedMessage[] = [];
    while (got.length < count) {
      const batch = await receiver.receiveMessages(count - got.length, { maxWaitTimeInMs: 1000 });
      if (batch.length === 0) break;
      for (const message of batch) await receiver.completeMessage(message);
      got.push(...batch);
    }
    return got;
  } finally {
    await receiver.close();
  }
}

describe('enqueue', () => {
  test('sends the task as JSON with its messageId, subject, content type and routing properties', async () => {
    const queue = queueFor('sync-tasks');
    const task = syncTask(1);
    await queue.enqueue(task, { messageId: 'msg-1' });

    const [message] = await receiveAll('sync-tasks', 1);
    expect(message?.body).toEqual(task);
    expect(message?.messageId).toBe('msg-1');
    expect(message?.contentType).toBe('application/json');
    expect(message?.subject).toBe('webhook_triggered');
    expect(message?.applicationProperties).toEqual({
      tenantId: 'tenant-1',
      integrationId: 'github',
      eventType: 'opened',
      entityType: 'issue',
    });
    expect(message?.sessionId).toBeUndefined();
  });

  test('sets sessionId to tenant:entityType:entityId only when ordering is on', async () => {
    const queue = queueFor('ordered', { ordering: true });
    await queue.enqueue(syncTask(7), { messageId: 'ordered-7' });
    const [stored] = broker.messages('ordered');
    expect(stored?.sessionId).toBe('tenant-1:issue:issue-7');
    expect(toServiceBusMessage(syncTask(7), 'x').sessionId).toBeUndefined();
  });

  test('a repeat of a messageId is dropped by duplicate detection', async () => {
    const queue = queueFor('dedupe');
    await queue.enqueue(syncTask(1), { messageId: 'same-id' });
    await queue.enqueue(syncTask(1), { messageId: 'same-id' });
    await queue.enqueue(syncTask(2), { messageId: 'other-id' });
    expect(broker.messages('dedupe').map((m) => m.messageId)).toEqual(['same-id', 'other-id']);
    expect(broker.stats().duplicatesDropped).toBeGreaterThanOrEqual(1);
  });

  test('refuses a messageId Service Bus would refuse', async () => {
    const queue = queueFor('sync-tasks');
    await expect(queue.enqueue(syncTask(1), { messageId: 'x'.repeat(129) })).rejects.toMatchObject({
      code: 'invalid_request',
    });
  });
});

describe('enqueueBatch', () => {
  test('sends many tasks in one batch transfer, in order', async () => {
    const queue = queueFor('batches');
    const before = broker.stats().batches;
    const items = Array.from({ length: 50 }, (_, i) => ({ task: syncTask(i), messageId: `batch-${i}` }));
    await queue.enqueueBatch(items);

    const stored = broker.messages('batches');
    expect(stored.map((m) => m.messageId)).toEqual(items.map((i) => i.messageId));
    expect(stored.every((m) => m.batched)).toBe(true);
    expect(broker.stats().batches - before).toBe(1);
    const received = await receiveAll('batches', 50);
    expect(received.map((m) => m.body)).toEqual(items.map((i) => i.task));
    expect(received[0]?.applicationProperties?.tenantId).toBe('tenant-1');
  });

  test('splits into several batches when the queue message size is reached', async () => {
    const small = await startServiceBusTestBroker({ queues: ['small'], maxMessageSizeInBytes: 4096 });
    const queue = new ServiceBusSyncQueue(small.connectionString, 'small', { retry: fastRetry });
    try {
      const items = Array.from({ length: 40 }, (_, i) => ({ task: syncTask(i), messageId: `small-${i}` }));
      await queue.enqueueBatch(items);
      expect(small.messages('small').map((m) => m.messageId)).toEqual(items.map((i) => i.messageId));
      expect(small.stats().batches).toBeGreaterThan(1);

      const huge = syncTask(99, { metadata: { webhook: 'reg_1', blob: 'x'.repeat(8000) } });
      const error = await queue.enqueueBatch([{ task: huge, messageId: 'huge' }]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WebhookError);
      expect((error as WebhookError).message).toContain('does not fit');
    } finally {
      await queue.close();
      await small.close();
    }
  });

  test('with ordering on, each batch holds one session in the order given', async () => {
    const local = await startServiceBusTestBroker({ queues: ['sessions'] });
    const queue = new ServiceBusSyncQueue(local.connectionString, 'sessions', { retry: fastRetry, ordering: true });
    try {
      const items = [1, 2, 1, 2, 1].map((entity, i) => ({
        task: syncTask(i, { entityId: `issue-${entity}` }),
        messageId: `s-${i}`,
      }));
      await queue.enqueueBatch(items);
      expect(local.stats().batches).toBe(2);
      expect(local.messages('sessions').map((m) => `${m.sessionId}/${m.messageId}`)).toEqual([
        'tenant-1:issue:issue-1/s-0',
        'tenant-1:issue:issue-1/s-2',
        'tenant-1:issue:issue-1/s-4',
        'tenant-1:issue:issue-2/s-1',
        'tenant-1:issue:issue-2/s-3',
      ]);
    } finally {
      await queue.close();
      await local.close();
    }
  });

  test('duplicate detection also drops repeats inside a batch', async () => {
    const queue = queueFor('dedupe');
    await queue.enqueueBatch([
      { task: syncTask(10), messageId: 'b-10' },
      { task: syncTask(10), messageId: 'b-10' },
      { task: syncTask(11), messageId: 'b-11' },
    ]);
    expect(
      broker
        .messages('dedupe')
        .filter((m) => m.messageId?.startsWith('b-'))
        .map((m) => m.messageId),
    ).toEqual(['b-10', 'b-11']);
  });
});

describe('errors', () => {
  test('a missing queue gives queue_unavailable "queue X does not exist"', async () => {
    const queue = queueFor('no-such-queue');
    const error = await queue.enqueue(syncTask(1), { messageId: 'm' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebhookError);
    expect(error).toMatchObject({ code: 'queue_unavailable', status: 503, reason: 'MessagingEntityNotFound' });
    expect((error as Error).message).toBe('Service Bus queue "no-such-queue" does not exist');
  });

  test('wrong credentials give "credentials rejected" and never the key', async () => {
    const secured = await startServiceBusTestBroker({ queues: ['q'], sharedAccessKey: 'the-right-key-123' });
    const wrong = secured.connectionString.replace('the-right-key-123', 'a-wrong-key-456');
    const queue = new ServiceBusSyncQueue(wrong, 'q', { retry: { ...fastRetry, maxRetries: 0 } });
    try {
      const error = await queue.enqueue(syncTask(1), { messageId: 'm' }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'queue_unavailable', reason: 'UnauthorizedAccess' });
      const text = `${(error as Error).message} ${JSON.stringify(error)}`;
      expect(text).toContain('credentials rejected');
      expect(text).not.toContain('a-wrong-key-456');
      expect(text).not.toContain('the-right-key-123');
      expect(secured.messages('q')).toEqual([]);
      expect(secured.stats().rejectedTokens).toBeGreaterThan(0);
    } finally {
      await queue.close();
      await secured.close();
    }
  });

  test('a malformed connection string is refused without being quoted', () => {
    const bad = 'Endpoint=nonsense;SharedAccessKey=super-secret-value';
    let error: unknown;
    try {
      new ServiceBusSyncQueue(bad, 'q');
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'queue_unavailable', reason: 'invalid_connection_string' });
    expect(String((error as Error).message)).not.toContain('super-secret-value');
  });

  test('an unreachable namespace says so', async () => {
    const gone = await startServiceBusTestBroker({ queues: ['q'] });
    await gone.close();
    const queue = new ServiceBusSyncQueue(gone.connectionString, 'q', { retry: { ...fastRetry, maxRetries: 0 } });
    try {
      const error = await queue.enqueue(syncTask(1), { messageId: 'm' }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'queue_unavailable' });
      expect((error as Error).message).toMatch(/unreachable|failed/);
      expect((error as Error).message).not.toContain('SharedAccessKey=local');
    } finally {
      await queue.close();
    }
  });

  test('enqueue after close fails clearly', async () => {
    const queue = queueFor('sync-tasks');
    await queue.close();
    await expect(queue.enqueue(syncTask(1), { messageId: 'm' })).rejects.toThrow('client is closed');
  });
});

describe('verify and checkServiceBusQueue', () => {
  test('pass for a queue that exists and send nothing', async () => {
    const local = await startServiceBusTestBroker({ queues: ['ready'] });
    try {
      await checkServiceBusQueue(local.connectionString, 'ready', { retry: fastRetry });
      const queue = new ServiceBusSyncQueue(local.connectionString, 'ready', { retry: fastRetry });
      await queue.verify();
      await queue.close();
      expect(local.messages('ready')).toEqual([]);
      expect(local.stats().transfers).toBe(0);
    } finally {
      await local.close();
    }
  });

  test('fail fast for a missing queue and for wrong credentials', async () => {
    await expect(checkServiceBusQueue(broker.connectionString, 'missing', { retry: fastRetry })).rejects.toThrow(
      'Service Bus queue "missing" does not exist',
    );
    // With its default retries: the SDK retries a rejected key, the start-up check only once.
    const wrong = broker.connectionString.replace('SharedAccessKey=local', 'SharedAccessKey=nope');
    const started = Date.now();
    await expect(checkServiceBusQueue(wrong, 'sync-tasks')).rejects.toThrow('credentials rejected');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  test('accept a ServiceBusClient and leave it open', async () => {
    await checkServiceBusQueue(client, 'sync-tasks');
    const queue = new ServiceBusSyncQueue(client, 'sync-tasks');
    await queue.enqueue(syncTask(3), { messageId: 'via-client' });
    await queue.close();
    const received = await receiveAll('sync-tasks', 1);
    expect(received.map((m) => m.messageId)).toEqual(['via-client']);
  });
});

describe('sessionIdFor', () => {
  test('keeps ids within the 128 characters Service Bus allows, stable per entity', () => {
    const long = { tenantId: 't', entityType: 'page', entityId: 'x'.repeat(200) };
    expect(sessionIdFor(long)).toHaveLength(50);
    expect(sessionIdFor(long)).toBe(sessionIdFor({ ...long }));
    expect(sessionIdFor({ tenantId: 't', entityType: 'page', entityId: 'p1' })).toBe('t:page:p1');
  });
});
