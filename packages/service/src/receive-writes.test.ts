// How many store writes the receive path makes, the publish outbox, and the paths a store without
// the one-write append (or with a claim already on a key) takes.
import { createHash } from 'node:crypto';
import type { DeliveryStore, WebhookRegistration } from '@webhooks/core';
import { signGitHub, signHubSpotV3 } from '@webhooks/verifiers';
import { describe, expect, it } from 'vitest';
import { OutboxDispatcher } from './dispatcher.js';
import { MemoryStore } from './memory/memory-store.js';
import { ProviderRegistry } from './providers.js';
import { harness } from './test-support.js';

const TENANT = 'tenant-1';

/** Every method that changes something in a store. */
const WRITES = new Set([
  'create',
  'update',
  'delete',
  'recordOutcome',
  'claimDedupeKey',
  'releaseDedupeKey',
  'append',
  'appendFresh',
  'complete',
  'completeMany',
  'retry',
]);

/** The store, counting the calls of each write method. */
function counting(store: MemoryStore, hide: string[] = []): { store: MemoryStore; writes: string[] } {
  const writes: string[] = [];
  const proxy = new Proxy(store, {
    get(target, property) {
      if (typeof property === 'string' && hide.includes(property)) return undefined;
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (typeof property === 'string' && WRITES.has(property)) writes.push(property);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, writes };
}

function issueDelivery(registration: WebhookRegistration, n: number, deliveryId = crypto.randomUUID()) {
  const body = JSON.stringify({ action: 'opened', issue: { id: 1000 + n, number: n, title: `issue ${n}` } });
  return {
    headers: {
      ...signGitHub({ body, secret: registration.webhookSecret, deliveryId, event: 'issues' }),
      'content-type': 'application/json',
    },
    body,
  };
}

/** One HubSpot notification of a contact creation, as HubSpot batches them. */
function hubspotItem(occurredAt: number, eventId: number, objectId: number) {
  return {
    eventId,
    subscriptionId: 1,
    portalId: 62515,
    occurredAt,
    subscriptionType: 'contact.creation',
    attemptNumber: 0,
    objectId,
  };
}

async function activeGitHub(h: ReturnType<typeof harness>): Promise<WebhookRegistration> {
  const { registration } = await h.service.registerWebhook(TENANT, 'github', 'conn-1', ['issue.*']);
  // The first verified delivery activates the registration (one update); measure after it.
  const first = issueDelivery(registration, 0);
  await h.service.processWebhookEvent(registration.id, first.headers, first.body);
  await h.service.settle();
  return registration;
}

describe('store writes per receive', () => {
  it('embedded queue (no queue, no publisher): one write, the delivery, its task, its claim and its count together', async () => {
    const counted = counting(new MemoryStore());
    const noQueue = harness({
      registrations: counted.store,
      deliveries: counted.store,
      outbox: counted.store,
      queue: undefined,
      publisher: undefined,
    });
    const registration = await activeGitHub(noQueue);
    counted.writes.length = 0;
    const delivery = issueDelivery(registration, 1);
    const result = await noQueue.service.processWebhookEvent(registration.id, delivery.headers, delivery.body);
    await noQueue.service.settle();
    expect(result).toMatchObject({ status: 200, duplicate: false });
    expect(counted.writes).toEqual(['appendFresh']);
    expect((await counted.store.getCounters(registration.id)).processedEventCount).toBe(2);
    expect(await counted.store.listOutbox()).toHaveLength(2);
  });

  it('with a queue: one write on the answer path; completions of many deliveries share one more', async () => {
    const counted = counting(new MemoryStore());
    const h = harness({
      registrations: counted.store,
      deliveries: counted.store,
      outbox: counted.store,
      publisher: undefined,
    });
    const registration = await activeGitHub(h);
    counted.writes.length = 0;
    const deliveries = Array.from({ length: 20 }, (_, i) => issueDelivery(registration, i + 1));
    const results = await Promise.all(
      deliveries.map((d) => h.service.processWebhookEvent(registration.id, d.headers, d.body)),
    );
    expect(results.every((r) => r.status === 200 && r.syncTriggered)).toBe(true);
    expect(counted.writes.filter((w) => w === 'appendFresh')).toHaveLength(20);
    expect(counted.writes.filter((w) => w !== 'appendFresh')).toEqual([]);
    await h.service.settle();
    expect(counted.writes.filter((w) => w !== 'appendFresh')).toEqual(['completeMany']);
    expect(h.queue.messages).toHaveLength(21);
    expect(await counted.store.listOutbox()).toEqual([]);
  });

  it('a store without appendFresh takes the two-phase way: claim, then append', async () => {
    const counted = counting(new MemoryStore(), ['appendFresh']);
    const h = harness({
      registrations: counted.store,
      deliveries: counted.store,
      outbox: counted.store,
      queue: undefined,
      publisher: undefined,
    });
    const registration = await activeGitHub(h);
    counted.writes.length = 0;
    const delivery = issueDelivery(registration, 1);
    expect(await h.service.processWebhookEvent(registration.id, delivery.headers, delivery.body)).toMatchObject({
      status: 200,
      duplicate: false,
    });
    expect(counted.writes).toEqual(['claimDedupeKey', 'append']);
    await h.service.settle();
    expect(counted.writes).toEqual(['claimDedupeKey', 'append', 'recordOutcome']);
    expect(await h.service.processWebhookEvent(registration.id, delivery.headers, delivery.body)).toMatchObject({
      status: 200,
      duplicate: true,
    });
    expect(await counted.store.listOutbox()).toHaveLength(2);
  });

  it('50 concurrent copies of one delivery: one stored and one task, on both paths', async () => {
    for (const hide of [[], ['appendFresh']]) {
      const counted = counting(new MemoryStore(), hide);
      const h = harness({ registrations: counted.store, deliveries: counted.store, outbox: counted.store });
      const registration = await activeGitHub(h);
      const delivery = issueDelivery(registration, 1);
      const results = await Promise.all(
        Array.from({ length: 50 }, () =>
          h.service.processWebhookEvent(registration.id, delivery.headers, delivery.body),
        ),
      );
      const accepted = results.filter((r) => r.status === 200 && r.duplicate === false);
      expect(accepted, `hide ${hide.join()}`).toHaveLength(1);
      // The others saw the committed claim (duplicate) or, on the two-phase path, a claim in flight.
      expect(results.every((r) => r.status === 200 || (r.status === 503 && r.code === 'in_progress'))).toBe(true);
      expect(h.queue.messages.filter((m) => m.task.entityId === '1001')).toHaveLength(1);
    }
  });

  it('a key another request holds pending: the one write refuses, and the answer is 503 in_progress', async () => {
    const h = harness();
    const registration = await activeGitHub(h);
    const deliveryId = crypto.randomUUID();
    expect(await h.store.claimDedupeKey(registration.id, `id:${deliveryId}`, 60_000, new Date(h.clock.now()))).toBe(
      'claimed',
    );
    const delivery = issueDelivery(registration, 1, deliveryId);
    expect(await h.service.processWebhookEvent(registration.id, delivery.headers, delivery.body)).toMatchObject({
      status: 503,
      code: 'in_progress',
    });
    h.clock.advance(60_000);
    expect(await h.service.processWebhookEvent(registration.id, delivery.headers, delivery.body)).toMatchObject({
      status: 200,
      duplicate: false,
    });
  });
});

describe('a store whose one write cannot count (counters elsewhere, as on Cosmos DB)', () => {
  it('adds successes up per registration: exact counts, far fewer counter writes than deliveries', async () => {
    const memory = new MemoryStore();
    const { store, writes } = counting(memory);
    const uncounted = new Proxy(store, {
      get(target, property) {
        if (property !== 'appendFresh') return Reflect.get(target, property, target);
        return (...args: Parameters<NonNullable<MemoryStore['appendFresh']>>) =>
          target.appendFresh(args[0], args[1], { ...args[2], countSuccess: false });
      },
    });
    const h = harness({ registrations: uncounted, deliveries: uncounted, outbox: uncounted, publisher: undefined });
    const registration = await activeGitHub(h);
    writes.length = 0;
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => {
        const d = issueDelivery(registration, i + 1);
        return h.service.processWebhookEvent(registration.id, d.headers, d.body);
      }),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    // Health reads write what is pending first.
    const health = await h.service.checkWebhookHealth(registration.id, TENANT);
    expect(health.lastEventAt).toEqual(new Date(h.clock.now()));
    expect((await memory.getCounters(registration.id)).processedEventCount).toBe(51);
    await h.service.settle();
    expect((await memory.getCounters(registration.id)).processedEventCount).toBe(51);
    const counterWrites = writes.filter((w) => w === 'recordOutcome').length;
    expect(counterWrites).toBeGreaterThanOrEqual(1);
    expect(counterWrites).toBeLessThanOrEqual(5);
  });
});

describe('an event repeated inside one delivery', () => {
  it('counts once: the batch is accepted (not 503 in_progress), with one task for the repeated event', async () => {
    const h = harness();
    const secret = 'hubspot-client-secret';
    const { registration } = await h.service.registerWebhook(TENANT, 'hubspot', 'conn-1', ['*'], {
      webhookSecret: secret,
    });
    const body = JSON.stringify([
      hubspotItem(h.clock.now(), 100, 1),
      hubspotItem(h.clock.now(), 100, 1),
      hubspotItem(h.clock.now(), 101, 2),
    ]);
    const url = registration.webhookUrl;
    const headers = signHubSpotV3({ url, body, secret, timestamp: h.clock.now() });
    for (const hide of [false, true]) {
      const store = new MemoryStore();
      const target = hide ? counting(store, ['appendFresh']).store : store;
      const run = harness({ registrations: target, deliveries: target as DeliveryStore & MemoryStore, outbox: target });
      run.clock.ms = h.clock.ms;
      await target.create(registration);
      const result = await run.service.processWebhookEvent(registration.id, headers, body, { url, method: 'POST' });
      expect(result, `two-phase: ${hide}`).toMatchObject({ status: 200, duplicate: false });
      expect(run.queue.messages.map((m) => m.task.entityId).sort()).toEqual(['1', '2']);
    }
  });
});

describe('Event Grid publishing through the outbox', () => {
  it('published inline: nothing is left in the outbox', async () => {
    const h = harness({ queue: undefined });
    const registration = await activeGitHub(h);
    const delivery = issueDelivery(registration, 1);
    await h.service.processWebhookEvent(registration.id, delivery.headers, delivery.body);
    await h.service.settle();
    expect(h.publisher.events).toHaveLength(2);
    expect(await h.store.listOutbox({ kind: 'publish' })).toEqual([]);
    expect(JSON.stringify(h.publisher.events)).not.toContain(registration.webhookSecret);
  });

  it('a publish failure keeps the event in the outbox; the publish dispatcher sends it once, after the backoff', async () => {
    const h = harness({ queue: undefined });
    const registration = await activeGitHub(h);
    h.publisher.failWith = new Error('Event Grid down');
    const delivery = issueDelivery(registration, 1);
    expect(await h.service.processWebhookEvent(registration.id, delivery.headers, delivery.body)).toMatchObject({
      status: 200,
    });
    await h.service.settle();
    const [waiting] = await h.store.listOutbox({ kind: 'publish' });
    expect(waiting).toMatchObject({ kind: 'publish', status: 'pending', attempts: 1, lastError: 'Event Grid down' });
    expect(waiting?.event).toMatchObject({ eventType: 'webhook.received', data: { syncTriggered: true } });
    expect(JSON.stringify(waiting)).not.toContain(registration.webhookSecret);

    const dispatcher = new OutboxDispatcher({ outbox: h.store, publisher: h.publisher, clock: h.clock });
    expect(await dispatcher.runOnce()).toMatchObject({ claimed: 0 });
    h.clock.advance(5 * 60_000);
    expect(await dispatcher.runOnce()).toMatchObject({ claimed: 1, retried: 1 });
    h.publisher.failWith = null;
    h.clock.advance(60 * 60_000);
    expect(await dispatcher.runOnce()).toMatchObject({ claimed: 1, sent: 1 });
    expect(h.publisher.events.filter((e) => e.data.event.entityId === '1001')).toHaveLength(1);
    expect(await h.store.listOutbox({ kind: 'publish' })).toEqual([]);
    // The sync task was never touched by the publish dispatcher.
    expect(await h.store.listOutbox()).toHaveLength(2);
    h.clock.advance(60 * 60_000);
    expect(await dispatcher.runOnce()).toMatchObject({ claimed: 0 });
  });

  it('a duplicate publishes nothing again', async () => {
    const h = harness({ queue: undefined });
    const registration = await activeGitHub(h);
    const delivery = issueDelivery(registration, 1);
    await h.service.processWebhookEvent(registration.id, delivery.headers, delivery.body);
    await h.service.processWebhookEvent(registration.id, delivery.headers, delivery.body);
    await h.service.settle();
    expect(h.publisher.events.filter((e) => e.data.event.entityId === '1001')).toHaveLength(1);
  });
});

describe('queue message ids', () => {
  it('stay what they always were: sha256 of the registration id, NUL and the dedupe key, base64url, 32 characters', async () => {
    // Stable across versions: a provider's retry after an upgrade must still be dropped by the queue.
    const h = harness({ publisher: undefined });
    const registration = await activeGitHub(h);
    const delivery = issueDelivery(registration, 1, 'c0ffee00-0000-4000-8000-000000000001');
    await h.service.processWebhookEvent(registration.id, delivery.headers, delivery.body);
    const expected = createHash('sha256')
      .update(registration.id)
      .update('\u0000')
      .update('id:c0ffee00-0000-4000-8000-000000000001')
      .digest('base64url')
      .slice(0, 32);
    expect(h.queue.messages.at(-1)?.messageId).toBe(expected);
  });
});

describe('a queue that hangs', () => {
  it('the answer does not wait past inlineSendTimeoutMs: 202 queued, and the dispatcher sends it later', async () => {
    const h = harness({ inlineSendTimeoutMs: 50, publisher: undefined });
    const registration = await activeGitHub(h);
    const realEnqueue = h.queue.enqueue.bind(h.queue);
    let release: (() => void) | undefined;
    h.queue.enqueue = (task, options) =>
      new Promise<void>((resolve) => {
        release = () => void realEnqueue(task, options).then(resolve);
      });
    const delivery = issueDelivery(registration, 1);
    const started = performance.now();
    const result = await h.service.processWebhookEvent(registration.id, delivery.headers, delivery.body);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(result).toMatchObject({ status: 202, queued: true });
    // The hung send gets through after all; the dispatcher's later send is dropped as a repeat.
    release?.();
    h.queue.enqueue = realEnqueue;
    h.clock.advance(10 * 60_000);
    const dispatcher = new OutboxDispatcher({ outbox: h.store, queue: h.queue, clock: h.clock });
    expect(await dispatcher.runOnce()).toMatchObject({ claimed: 1, sent: 1 });
    expect(h.queue.messages.filter((m) => m.task.entityId === '1001')).toHaveLength(1);
    expect(await h.store.listOutbox()).toEqual([]);
  });

  it("gives the send at most half of the provider's answer deadline (Slack answers within 3 s)", async () => {
    const builtIn = new ProviderRegistry();
    expect(builtIn.get('slack')?.answerWithinMs).toBe(3000);
    expect(builtIn.get('github')?.answerWithinMs).toBe(10_000);
    // GitHub as a provider that waits only 100 ms: the send gets 50 ms of the configured 60 s.
    const hasty = { ...builtIn.get('github')!, answerWithinMs: 100 };
    const h = harness({ providers: new ProviderRegistry([hasty]), inlineSendTimeoutMs: 60_000, publisher: undefined });
    const registration = await activeGitHub(h);
    h.queue.enqueue = () => new Promise<void>(() => {});
    const delivery = issueDelivery(registration, 1);
    const started = performance.now();
    const result = await h.service.processWebhookEvent(registration.id, delivery.headers, delivery.body);
    expect(performance.now() - started).toBeLessThan(30_000);
    expect(result).toMatchObject({ status: 202, queued: true });
    expect(await h.store.listOutbox()).toHaveLength(1);
  });

  it('a batch send that runs out of time is not followed by sends of each task', async () => {
    const h = harness({ inlineSendTimeoutMs: 50, publisher: undefined });
    const secret = 'hubspot-client-secret';
    const { registration } = await h.service.registerWebhook(TENANT, 'hubspot', 'conn-1', ['*'], {
      webhookSecret: secret,
    });
    const sends: string[] = [];
    Object.assign(h.queue, {
      enqueueBatch: async () => {
        sends.push('batch');
        await new Promise<void>(() => {});
      },
    });
    h.queue.enqueue = async () => {
      sends.push('one');
    };
    const body = JSON.stringify([hubspotItem(h.clock.now(), 200, 1), hubspotItem(h.clock.now(), 201, 2)]);
    const url = registration.webhookUrl;
    const headers = signHubSpotV3({ url, body, secret, timestamp: h.clock.now() });
    const result = await h.service.processWebhookEvent(registration.id, headers, body, { url, method: 'POST' });
    expect(result).toMatchObject({ status: 202, queued: true });
    expect(sends).toEqual(['batch']);
    expect(await h.store.listOutbox()).toHaveLength(2);
  });
});
