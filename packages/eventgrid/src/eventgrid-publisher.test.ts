import type { PublishedEvent, WebhookRegistration } from '@webhooks/core';
import { WebhookError } from '@webhooks/core';
import { type EventGridCapture, startEventGridCapture } from '@webhooks/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { EventGridPublisher, type EventGridPublisherOptions } from './eventgrid-publisher.js';

const KEY = 'topic-key-0123456789';
const SECRET = 'whsec_the-current-secret-value';
const OLD_SECRET = 'whsec_the-previous-secret-value';
const noRetry = { maxRetries: 0 };

let capture: EventGridCapture;

beforeAll(async () => {
  capture = await startEventGridCapture({ key: KEY });
});

afterAll(async () => {
  await capture.close();
});

beforeEach(() => {
  capture.requests.length = 0;
  capture.events.length = 0;
});

function publisher(options: Partial<EventGridPublisherOptions> = {}): EventGridPublisher {
  return new EventGridPublisher({ endpoint: capture.endpoint, key: KEY, retryOptions: noRetry, ...options });
}

/** A registration as a careless caller might pass it: with both its secrets still on it. */
function registration(): WebhookRegistration {
  return {
    id: 'reg_1',
    tenantId: 'tenant-1',
    integrationId: 'github',
    connectionId: 'conn-1',
    webhookUrl: 'https://hooks.example.com/webhooks/reg_1',
    webhookSecret: SECRET,
    previousSecrets: [{ secret: OLD_SECRET, expiresAt: new Date('2030-01-01T00:00:00Z') }],
    events: ['issue.*'],
    status: 'active',
    isVerified: true,
    failureCount: 0,
    createdAt: new Date('2025-01-01T00:00:00Z'),
    updatedAt: new Date('2025-01-02T00:00:00Z'),
  };
}

function published(n: number, extra: Record<string, unknown> = {}): PublishedEvent {
  return {
    id: `evt-${n}`,
    eventType: 'webhook.received',
    subject: '/github/webhooks/reg_1',
    eventTime: new Date('2025-03-04T05:06:07.000Z'),
    data: {
      // Deliberately unsafe input: the type forbids the secrets, the publisher must still drop them.
      webhook: registration() as unknown as PublishedEvent['data']['webhook'],
      event: {
        providerId: 'github',
        eventType: 'opened',
        entityType: 'issue',
        entityId: `issue-${n}`,
        data: { number: n, ...extra },
        timestamp: new Date('2025-03-04T05:06:00.000Z'),
        deliveryId: `delivery-${n}`,
      },
      syncTriggered: true,
    },
  };
}

describe('CloudEvents 1.0 (the default)', () => {
  test('posts a CloudEvents batch with the topic key', async () => {
    await publisher({ source: '/webhooks/test' }).publish([published(1)]);

    const [request] = capture.requests;
    expect(request?.status).toBe(200);
    expect(request?.method).toBe('POST');
    expect(request?.url).toMatch(/^\/api\/events\?api-version=/);
    expect(request?.headers['aeg-sas-key']).toBe(KEY);
    expect(request?.headers['content-type']).toContain('application/cloudevents-batch+json');

    expect(capture.events).toHaveLength(1);
    const { schema, event } = capture.events[0]!;
    expect(schema).toBe('CloudEvent');
    expect(event).toMatchObject({
      specversion: '1.0',
      type: 'webhook.received',
      source: '/webhooks/test',
      subject: '/github/webhooks/reg_1',
      id: 'evt-1',
      time: '2025-03-04T05:06:07.000Z',
      datacontenttype: 'application/json',
    });
    const data = event.data as {
      webhook: Record<string, unknown>;
      event: Record<string, unknown>;
      syncTriggered: boolean;
    };
    expect(data.syncTriggered).toBe(true);
    expect(data.webhook).toMatchObject({ id: 'reg_1', integrationId: 'github', tenantId: 'tenant-1' });
    expect(data.event).toMatchObject({ entityId: 'issue-1', eventType: 'opened', deliveryId: 'delivery-1' });
  });

  test('the registration goes out without its secrets, anywhere in the bytes', async () => {
    await publisher().publish([published(1), published(2)]);
    const data = capture.events[0]?.event.data as { webhook: Record<string, unknown> };
    expect(data.webhook).not.toHaveProperty('webhookSecret');
    expect(data.webhook).not.toHaveProperty('previousSecrets');
    const bytes = Buffer.concat(capture.requests.map((r) => r.rawBody)).toString('utf8');
    expect(bytes).toContain('reg_1');
    expect(bytes).not.toContain(SECRET);
    expect(bytes).not.toContain(OLD_SECRET);
  });
});

describe('Event Grid schema', () => {
  test('posts eventType, subject, dataVersion, eventTime, id and data as JSON', async () => {
    await publisher({ schema: 'EventGrid', dataVersion: '2.0' }).publish([published(3)]);
    const [request] = capture.requests;
    expect(request?.status).toBe(200);
    expect(request?.headers['aeg-sas-key']).toBe(KEY);
    expect(request?.headers['content-type']).toContain('application/json');
    const { schema, event } = capture.events[0]!;
    expect(schema).toBe('EventGrid');
    expect(event).toMatchObject({
      eventType: 'webhook.received',
      subject: '/github/webhooks/reg_1',
      dataVersion: '2.0',
      eventTime: '2025-03-04T05:06:07.000Z',
      id: 'evt-3',
    });
    expect(request?.rawBody.toString('utf8')).not.toContain(SECRET);
  });
});

describe('batching', () => {
  test('splits at the event count limit', async () => {
    const events = Array.from({ length: 250 }, (_, i) => published(i));
    await publisher().publish(events);
    expect(capture.requests.map((r) => (JSON.parse(r.rawBody.toString('utf8')) as unknown[]).length)).toEqual([
      100, 100, 50,
    ]);
    expect(capture.events.map((e) => e.event.id)).toEqual(events.map((e) => e.id));
  });

  test('splits at the size limit', async () => {
    const big = Array.from({ length: 6 }, (_, i) => published(i, { body: 'x'.repeat(3000) }));
    await publisher({ maxBatchSizeInBytes: 10_000 }).publish(big);
    expect(capture.requests.length).toBeGreaterThan(1);
    for (const request of capture.requests) expect(request.rawBody.length).toBeLessThanOrEqual(10_000);
    expect(capture.events).toHaveLength(6);
  });

  test('an event over the size limit is reported and the rest still go out', async () => {
    const events = [published(1), published(2, { body: 'x'.repeat(20_000) }), published(3)];
    const error = await publisher({ maxBatchSizeInBytes: 10_000 })
      .publish(events)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebhookError);
    expect((error as Error).message).toContain('failed for 1 of 3 events: event evt-2 is larger than 10000 bytes');
    expect(capture.events.map((e) => e.event.id)).toEqual(['evt-1', 'evt-3']);
  });

  test('nothing to publish sends nothing', async () => {
    await publisher().publish([]);
    expect(capture.requests).toEqual([]);
  });
});

describe('failures', () => {
  test('a wrong key is rejected with a clear error that does not quote the key', async () => {
    const error = await publisher({ key: 'the-wrong-key-999' })
      .publish([published(1)])
      .catch((e: unknown) => e);
    expect(capture.requests[0]?.status).toBe(401);
    expect(error).toMatchObject({ code: 'internal', status: 502, reason: 'eventgrid_401' });
    expect((error as Error).message).toContain('the topic key was rejected (401)');
    expect(`${(error as Error).message} ${JSON.stringify(error)}`).not.toContain('the-wrong-key-999');
  });

  test('a server failure rejects the promise; the next publish goes through', async () => {
    capture.failNext(1, 503);
    const error = await publisher()
      .publish([published(1)])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebhookError);
    expect((error as Error).message).toBe(
      `Event Grid publish to ${new URL(capture.endpoint).host} failed for 1 of 1 events: Event Grid answered 503 ServiceUnavailable`,
    );
    expect(capture.events).toEqual([]);
    await publisher().publish([published(2)]);
    expect(capture.events.map((e) => e.event.id)).toEqual(['evt-2']);
  });

  test('the SDK retries a transient failure when retries are on', async () => {
    capture.failNext(1, 503);
    await publisher({ retryOptions: { maxRetries: 2, retryDelayInMs: 10, maxRetryDelayInMs: 20 } }).publish([
      published(5),
    ]);
    expect(capture.requests.map((r) => r.status)).toEqual([503, 200]);
    expect(capture.events.map((e) => e.event.id)).toEqual(['evt-5']);
  });

  test('one failed batch does not stop the others', async () => {
    capture.failNext(1, 500);
    const events = Array.from({ length: 150 }, (_, i) => published(i));
    const error = await publisher()
      .publish(events)
      .catch((e: unknown) => e);
    expect((error as Error).message).toContain('failed for 100 of 150 events');
    expect(capture.events).toHaveLength(50);
  });

  test('an unreachable endpoint rejects clearly', async () => {
    const gone = await startEventGridCapture({ key: KEY });
    await gone.close();
    const error = await new EventGridPublisher({ endpoint: gone.endpoint, key: KEY, retryOptions: noRetry })
      .publish([published(1)])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'internal', reason: 'eventgrid_unavailable' });
    expect((error as Error).message).toMatch(/Event Grid is unreachable/);
  });
});

describe('configuration', () => {
  test('plain http is allowed only for a local endpoint', () => {
    expect(() => new EventGridPublisher({ endpoint: 'http://topic.example.com/api/events', key: KEY })).toThrow(
      'Event Grid endpoint must use https',
    );
    expect(() => new EventGridPublisher({ endpoint: 'http://localhost:9/api/events', key: KEY })).not.toThrow();
    expect(
      () => new EventGridPublisher({ endpoint: 'https://t.westeurope-1.eventgrid.azure.net/api/events', key: KEY }),
    ).not.toThrow();
  });

  test('a missing key or a malformed endpoint is refused', () => {
    expect(() => new EventGridPublisher({ endpoint: capture.endpoint, key: '' })).toThrow('needs the topic key');
    expect(() => new EventGridPublisher({ endpoint: 'not a url', key: KEY })).toThrow('not a URL');
  });
});
