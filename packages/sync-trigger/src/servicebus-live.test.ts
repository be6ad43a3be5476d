import { randomUUID } from 'node:crypto';
import { ServiceBusClient } from '@azure/service-bus';
import { afterAll, describe, expect, test } from 'vitest';
import { checkServiceBusQueue, ServiceBusSyncQueue } from './servicebus-queue.js';
import { syncTask } from './test-support.js';

// Runs against a real namespace when both are set; the queue must exist, without sessions.
const connectionString = process.env.SERVICEBUS_CONNECTION_STRING ?? '';
const queueName = process.env.SERVICEBUS_QUEUE ?? '';
const live = connectionString !== '' && queueName !== '';

describe.runIf(live)('ServiceBusSyncQueue against a live Service Bus namespace', () => {
  const run = randomUUID();
  const client = live ? new ServiceBusClient(connectionString) : undefined;
  const queue = live ? new ServiceBusSyncQueue(connectionString, queueName) : undefined;

  afterAll(async () => {
    await queue?.close();
    await client?.close();
  });

  test('verify passes and a missing queue is reported clearly', async () => {
    await queue!.verify();
    await expect(
      checkServiceBusQueue(connectionString, `missing-${run}`, { retry: { maxRetries: 0 } }),
    ).rejects.toThrow(`Service Bus queue "missing-${run}" does not exist`);
  }, 60_000);

  test('enqueue and enqueueBatch arrive with their body and properties', async () => {
    await queue!.enqueue(syncTask(1, { deliveryId: run }), { messageId: `${run}-1` });
    await queue!.enqueueBatch([
      { task: syncTask(2, { deliveryId: run }), messageId: `${run}-2` },
      { task: syncTask(3, { deliveryId: run }), messageId: `${run}-3` },
    ]);
    const receiver = client!.createReceiver(queueName);
    const mine: string[] = [];
    try {
      for (let round = 0; round < 10 && mine.length < 3; round++) {
        for (const message of await receiver.receiveMessages(50, { maxWaitTimeInMs: 3000 })) {
          const body = message.body as { deliveryId?: string };
          if (body.deliveryId !== run) {
            // Someone else's message: leave it for them.
            await receiver.abandonMessage(message);
            continue;
          }
          expect(message.subject).toBe('webhook_triggered');
          expect(message.applicationProperties?.tenantId).toBe('tenant-1');
          mine.push(String(message.messageId));
          await receiver.completeMessage(message);
        }
      }
    } finally {
      await receiver.close();
    }
    expect(mine.sort()).toEqual([`${run}-1`, `${run}-2`, `${run}-3`]);
  }, 120_000);
});
