import { ServiceBusClient } from '@azure/service-bus';
import { type ServiceBusTestBroker, startServiceBusTestBroker } from '@webhooks/testkit';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fastRetry } from './test-support.js';

// The test broker lives in @webhooks/testkit, which does not depend on the SDK; it is checked
// against the real @azure/service-bus here, where the SDK is installed.
let broker: ServiceBusTestBroker;
let client: ServiceBusClient;

beforeAll(async () => {
  broker = await startServiceBusTestBroker({
    queues: ['work', 'drain', 'delete-mode', { name: 'short-lock', lockDurationMs: 300, maxDeliveryCount: 2 }],
  });
  client = new ServiceBusClient(broker.connectionString, { retryOptions: fastRetry });
});

afterAll(async () => {
  await client.close();
  await broker.close();
});

describe('the Service Bus test broker with the real SDK', () => {
  test('peek-lock receive, complete, abandon and dead-letter', async () => {
    const sender = client.createSender('work');
    await sender.sendMessages([
      { body: { n: 1 }, messageId: 'a' },
      { body: { n: 2 }, messageId: 'b' },
      { body: { n: 3 }, messageId: 'c' },
    ]);
    const receiver = client.createReceiver('work');
    const first = await receiver.receiveMessages(3, { maxWaitTimeInMs: 1000 });
    expect(first.map((m) => [m.messageId, m.deliveryCount, m.sequenceNumber?.toNumber()])).toEqual([
      ['a', 0, expect.any(Number)],
      ['b', 0, expect.any(Number)],
      ['c', 0, expect.any(Number)],
    ]);
    expect(first[0]?.lockToken).toMatch(/^[0-9a-f-]{36}$/);
    expect(first[0]?.lockedUntilUtc?.getTime()).toBeGreaterThan(Date.now());
    expect(first[0]?.enqueuedTimeUtc).toBeInstanceOf(Date);

    await receiver.completeMessage(first[0]!);
    await receiver.abandonMessage(first[1]!, { retriedBy: 'test' });
    await receiver.deadLetterMessage(first[2]!, { deadLetterReason: 'poison', deadLetterErrorDescription: 'bad body' });

    const again = await receiver.receiveMessages(5, { maxWaitTimeInMs: 300 });
    expect(again.map((m) => [m.messageId, m.deliveryCount, m.applicationProperties?.retriedBy])).toEqual([
      ['b', 1, 'test'],
    ]);
    await receiver.completeMessage(again[0]!);

    const deadLetters = client.createReceiver('work', { subQueueType: 'deadLetter' });
    const dead = await deadLetters.receiveMessages(5, { maxWaitTimeInMs: 300 });
    expect(dead.map((m) => [m.messageId, m.deadLetterReason, m.deadLetterErrorDescription])).toEqual([
      ['c', 'poison', 'bad body'],
    ]);
    await deadLetters.completeMessage(dead[0]!);
    expect(broker.messages('work').map((m) => m.state)).toEqual(['completed', 'completed', 'dead-lettered']);
    await Promise.all([sender.close(), receiver.close(), deadLetters.close()]);
  });

  test('drain: receiveMessages returns what there is once the wait is over', async () => {
    const sender = client.createSender('drain');
    await sender.sendMessages({ body: 'only one', messageId: 'one' });
    const receiver = client.createReceiver('drain');
    const started = Date.now();
    const got = await receiver.receiveMessages(10, { maxWaitTimeInMs: 400 });
    expect(got.map((m) => m.body)).toEqual(['only one']);
    expect(Date.now() - started).toBeLessThan(5000);
    const none = await receiver.receiveMessages(10, { maxWaitTimeInMs: 200 });
    expect(none).toEqual([]);
    await receiver.completeMessage(got[0]!);
    await Promise.all([sender.close(), receiver.close()]);
  });

  test('receiveAndDelete takes messages off the queue as it delivers them', async () => {
    const sender = client.createSender('delete-mode');
    await sender.sendMessages([{ body: 1 }, { body: 2 }]);
    const receiver = client.createReceiver('delete-mode', { receiveMode: 'receiveAndDelete' });
    const got = await receiver.receiveMessages(2, { maxWaitTimeInMs: 1000 });
    expect(got.map((m) => m.body)).toEqual([1, 2]);
    expect(broker.messages('delete-mode').map((m) => m.state)).toEqual(['completed', 'completed']);
    await Promise.all([sender.close(), receiver.close()]);
  });

  test('an expired lock puts the message back, then dead-letters it after maxDeliveryCount', async () => {
    const sender = client.createSender('short-lock');
    await sender.sendMessages({ body: 'slow', messageId: 'slow' });
    const receiver = client.createReceiver('short-lock');
    const [first] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 1000 });
    expect(first?.deliveryCount).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 400));
    await expect(receiver.completeMessage(first!)).rejects.toMatchObject({ code: 'MessageLockLost' });
    const [second] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 1000 });
    expect(second?.deliveryCount).toBe(1);
    await receiver.abandonMessage(second!);
    expect(broker.messages('short-lock/$DeadLetterQueue').map((m) => m.applicationProperties.DeadLetterReason)).toEqual(
      ['MaxDeliveryCountExceeded'],
    );
    await Promise.all([sender.close(), receiver.close()]);
  });

  test('an unknown queue fails with MessagingEntityNotFound', async () => {
    const sender = client.createSender('nowhere');
    await expect(sender.sendMessages({ body: 1 })).rejects.toMatchObject({ code: 'MessagingEntityNotFound' });
    await sender.close();
  });
});
