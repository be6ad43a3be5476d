import { MemoryStore, MemorySyncQueue, WebhookManagementService } from '@webhooks/service';
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
  expect(capture.requests.at(-1)?.status).toBe(503);
  expect(queue.messages).toHaveLength(2);
});
