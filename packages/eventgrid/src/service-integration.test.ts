import { MemoryStore, MemorySyncQueue, OutboxDispatcher, WebhookManagementService } from '@webhooks/service';
import { type EventGridCapture, startEventGridCapture } from '@webhooks/testkit';
import { signGitHub } from '@webhooks/verifiers';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { EventGridPublisher } from './eventgrid-publisher.js';

const KEY = 'integration-topic-key';
let capture: EventGridCapture;

beforeAll(async () => {
  capture = await startEventGridCapture({ key: KEY });
});

afterAll(async () => {
  await capture.close();
});

test('WebhookManagementService publishes webhook.received and survives a publish failure', async () => {
  const store = new MemoryStore();
  const queue = new MemorySyncQueue();
  const service = new WebhookManagementService({
    registrations: store,
    deliveries: store,
    outbox: store,
    queue,
    publisher: new EventGridPublisher({ endpoint: capture.endpoint, key: KEY, retryOptions: { maxRetries: 0 } }),
    publicBaseUrl: 'https://hooks.example.com',
  });
  const { registration } = await service.registerWebhook('tenant-1', 'github', 'conn-1', ['issue.*']);
  const send = (deliveryId: string, issue: number) => {
    const body = JSON.stringify({ action: 'opened', issue: { id: issue, number: 1 } });
    const headers = signGitHub({ body, secret: registration.webhookSecret, deliveryId, event: 'issues' });
    return service.processWebhookEvent(registration.id, headers, body);
  };

  const ok = await send('d-1', 1001);
  expect(ok).toMatchObject({ success: true, status: 200, syncTriggered: true });
  // Published off the answer's path.
  await service.settle();
  expect(capture.events).toHaveLength(1);
  const { event } = capture.events[0]!;
  expect(event).toMatchObject({
    type: 'webhook.received',
    subject: `/github/webhooks/${registration.id}`,
  });
  expect((event.data as { syncTriggered: boolean }).syncTriggered).toBe(true);
  expect(capture.requests[0]?.rawBody.toString('utf8')).not.toContain(registration.webhookSecret);

  // Event Grid down: the webhook is still accepted and its sync task still enqueued.
  capture.failNext(1, 503);
  const failed = await send('d-2', 1002);
  expect(failed).toMatchObject({ success: true, status: 200, syncTriggered: true });
  await service.settle();
  expect(capture.requests.at(-1)?.status).toBe(503);
  expect(queue.messages).toHaveLength(2);
});

test('a publish that failed is retried from the outbox: published once when Event Grid is back', async () => {
  let now = Date.UTC(2026, 10, 28, 12);
  const clock = { now: () => now };
  const store = new MemoryStore();
  const publisher = new EventGridPublisher({ endpoint: capture.endpoint, key: KEY, retryOptions: { maxRetries: 0 } });
  const service = new WebhookManagementService({
    registrations: store,
    deliveries: store,
    outbox: store,
    publisher,
    clock,
    defaultRetryPolicy: { maxRetries: 5, backoffSeconds: 10 },
    publicBaseUrl: 'https://hooks.example.com',
  });
  const dispatcher = new OutboxDispatcher({ outbox: store, publisher, clock, retryPolicy: { backoffSeconds: 10 } });
  const { registration } = await service.registerWebhook('tenant-1', 'github', 'conn-1', ['issue.*']);
  const body = JSON.stringify({ action: 'opened', issue: { id: 7007, number: 7 } });
  const headers = signGitHub({ body, secret: registration.webhookSecret, deliveryId: 'd-retry', event: 'issues' });
  const published = () =>
    capture.events.filter((e) => (e.event.data as { event: { entityId: string } }).event.entityId === '7007');

  capture.failNext(2, 503);
  expect(await service.processWebhookEvent(registration.id, headers, body)).toMatchObject({ status: 200 });
  await service.settle();
  expect(published()).toHaveLength(0);
  expect(await store.listOutbox({ kind: 'publish' })).toMatchObject([{ status: 'pending', attempts: 1 }]);

  now += 10_000;
  expect(await dispatcher.runOnce()).toMatchObject({ claimed: 1, retried: 1 });
  expect(published()).toHaveLength(0);
  now += 20_000;
  expect(await dispatcher.runOnce()).toMatchObject({ claimed: 1, sent: 1 });
  expect(published()).toHaveLength(1);
  expect(capture.requests.at(-1)?.rawBody.toString('utf8')).not.toContain(registration.webhookSecret);

  // A repeat of the delivery, and later rounds, publish nothing more.
  expect(await service.processWebhookEvent(registration.id, headers, body)).toMatchObject({ duplicate: true });
  now += 3_600_000;
  expect(await dispatcher.runOnce()).toMatchObject({ claimed: 0 });
  expect(published()).toHaveLength(1);
});
