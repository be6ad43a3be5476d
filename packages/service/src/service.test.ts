import type { ProviderRegistrar, RateLimiter, RegistrationCache, WebhookRegistration } from '@webhooks/core';
import {
  HEALTH_RECOMMENDATIONS,
  SIGNATURES_FAILING_RECOMMENDATION,
  SILENT_RECOMMENDATION,
  WebhookError,
} from '@webhooks/core';
import { signGitHub, signNotion, signSalesforce, signSlack, signStripe } from '@webhooks/verifiers';
import { describe, expect, it } from 'vitest';
import { createEmbeddedWorker, OutboxDispatcher } from './dispatcher.js';
import { LruRegistrationCache } from './memory/lru-cache.js';
import { MemoryStore } from './memory/memory-store.js';
import { MemoryRateLimiter } from './memory/rate-limiter.js';
import { failing, harness } from './test-support.js';

const TENANT = 'tenant-123';
const OTHER_TENANT = 'tenant-456';

const issueBody = (id = 1234567, action = 'opened') =>
  JSON.stringify({
    action,
    issue: { number: 123, id, title: 'Bug: Login fails on mobile', user: { login: 'john_dev' } },
  });

const salesforceBody =
  '{"action":"created","sobject":{"name":"Contact","fields":{"Id":"003xx000004TMM","FirstName":"John","LastName":"Doe"}}}';

async function registerGitHub(h: ReturnType<typeof harness>, events = ['issue.*']) {
  const { registration } = await h.service.registerWebhook(TENANT, 'github', 'conn-1', events);
  return registration;
}

function githubDelivery(registration: WebhookRegistration, body = issueBody(), deliveryId = crypto.randomUUID()) {
  return {
    headers: {
      ...signGitHub({ body, secret: registration.webhookSecret, deliveryId, event: 'issues' }),
      'content-type': 'application/json',
    },
    body,
  };
}

describe('registerWebhook', () => {
  it('generates a whsec_ secret of 32 CSPRNG bytes and a URL from the public base URL', async () => {
    const h = harness();
    const { registration, setup } = await h.service.registerWebhook(TENANT, 'github', 'conn-1', ['issue.opened']);
    expect(registration.webhookSecret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(registration.webhookSecret.slice(6), 'base64')).toHaveLength(32);
    expect(registration.webhookUrl).toBe(`https://hooks.example.com/webhooks/${registration.id}`);
    expect(registration).toMatchObject({
      tenantId: TENANT,
      integrationId: 'github',
      status: 'pending_verification',
      isVerified: false,
      failureCount: 0,
    });
    expect(setup?.instructions.join('\n')).toContain(registration.webhookUrl);
    const second = await h.service.registerWebhook(TENANT, 'github', 'conn-1', ['issue.opened']);
    expect(second.registration.webhookSecret).not.toBe(registration.webhookSecret);
  });

  it('keeps a provider-issued secret and says so in the setup instructions', async () => {
    const h = harness();
    const { registration, setup } = await h.service.registerWebhook(TENANT, 'slack', 'conn-1', ['message.*'], {
      webhookSecret: '8f742231b10e8888abcd99yyyzzz85a5',
    });
    expect(registration.webhookSecret).toBe('8f742231b10e8888abcd99yyyzzz85a5');
    expect(setup?.instructions.join('\n')).toContain('the provider issued');
  });

  it.each([
    ['an unknown provider', 'gitlab', ['a.b'], 'unsupported_provider'],
    ['no events', 'github', [], 'invalid_request'],
    ['a malformed pattern', 'github', ['issue..opened'], 'invalid_request'],
    ['a non-string pattern', 'github', [42], 'invalid_request'],
  ])('rejects %s with a WebhookError', async (_, provider, events, code) => {
    const h = harness();
    await expect(h.service.registerWebhook(TENANT, provider, 'conn-1', events as string[])).rejects.toMatchObject({
      code,
    });
  });

  it('rejects a nonsense retry policy and a too-short provided secret', async () => {
    const h = harness();
    await expect(
      h.service.registerWebhook(TENANT, 'github', 'c', ['*'], { retryPolicy: { maxRetries: -1, backoffSeconds: 60 } }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(
      h.service.registerWebhook(TENANT, 'github', 'c', ['*'], { webhookSecret: 'short' }),
    ).rejects.toMatchObject({
      code: 'invalid_request',
    });
  });

  it('is active with the provider hook id when a registrar creates the webhook', async () => {
    const registrar: ProviderRegistrar = {
      register: async () => ({ kind: 'registered', providerWebhookId: '12345678' }),
      unregister: async () => {},
    };
    const h = harness({ registrars: { github: registrar } });
    const { registration, setup } = await h.service.registerWebhook(TENANT, 'github', 'conn-1', ['issue.*']);
    expect(registration).toMatchObject({ status: 'active', providerWebhookId: '12345678' });
    expect(setup).toBeUndefined();
  });

  it('still registers, with manual instructions, when the provider API throws', async () => {
    const registrar: ProviderRegistrar = {
      register: async () => {
        throw new Error('ECONNREFUSED');
      },
      unregister: async () => {},
    };
    const h = harness({ registrars: { github: registrar } });
    const { registration, setup } = await h.service.registerWebhook(TENANT, 'github', 'conn-1', ['issue.*']);
    expect(registration.status).toBe('pending_verification');
    expect(setup?.kind).toBe('manual');
  });
});

describe('processWebhookEvent', () => {
  it("processes the spec's GitHub example: 200, event, entity and a sync task", async () => {
    const h = harness();
    const registration = await registerGitHub(h);
    const { headers, body } = githubDelivery(registration);
    const result = await h.service.processWebhookEvent(registration.id, headers, body);
    expect(result).toMatchObject({
      success: true,
      status: 200,
      eventType: 'opened',
      entityId: '1234567',
      syncTriggered: true,
      duplicate: false,
      queued: false,
    });
    expect(result.processingTimeMs).toBeGreaterThanOrEqual(0);
    expect(h.queue.messages).toHaveLength(1);
    expect(h.queue.messages[0]!.task).toMatchObject({
      integrationId: 'github',
      connectionId: 'conn-1',
      syncType: 'webhook_triggered',
      webhookEventId: '1234567',
      metadata: { webhook: registration.id },
      tenantId: TENANT,
      entityType: 'issue',
      eventType: 'opened',
    });
  });

  it("processes the spec's Salesforce example with X-Salesforce-Event-Signature", async () => {
    const h = harness();
    const { registration } = await h.service.registerWebhook(TENANT, 'salesforce', 'conn-456', [
      'Contact.created',
      'Contact.updated',
    ]);
    const headers = signSalesforce({ body: salesforceBody, secret: registration.webhookSecret });
    const result = await h.service.processWebhookEvent(registration.id, headers, salesforceBody);
    expect(result).toMatchObject({
      success: true,
      status: 200,
      eventType: 'created',
      entityId: '003xx000004TMM',
      syncTriggered: true,
    });
  });

  it('answers 404 for an unknown id and for ids that are not ours, without touching the store', async () => {
    const store = new MemoryStore();
    const seen: string[] = [];
    const spy = new Proxy(store, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (property === 'get') {
          return async (id: string) => {
            seen.push(id);
            return store.get(id);
          };
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const h = harness({ registrations: spy });
    const hostile = ['../../etc/passwd', 'x'.repeat(10_000), 'ünïcødé', "1' OR '1'='1", '{"$ne":null}', '', 'a/b'];
    for (const id of hostile) {
      expect(await h.service.processWebhookEvent(id, {}, '{}')).toMatchObject({ status: 404, code: 'not_found' });
    }
    expect(seen).toEqual([]);
    expect(await h.service.processWebhookEvent('wh_doesnotexist', {}, '{}')).toMatchObject({ status: 404 });
  });

  it('answers 401 with the reason for a bad signature, records it and keeps the webhook healthy', async () => {
    const h = harness();
    const registration = await registerGitHub(h);
    const { body } = githubDelivery(registration);
    const headers = { ...signGitHub({ body, secret: 'not-the-secret' }), 'content-type': 'application/json' };
    for (let i = 0; i < 5; i++) {
      const result = await h.service.processWebhookEvent(registration.id, headers, body);
      expect(result).toMatchObject({
        success: false,
        status: 401,
        error: 'Invalid webhook signature',
        reason: 'signature_mismatch',
      });
    }
    expect(h.queue.messages).toHaveLength(0);
    await h.service.settle();
    const [rejected] = await h.service.listDeliveries(registration.id, TENANT, 10);
    expect(rejected).toMatchObject({
      outcome: 'rejected',
      reason: 'signature_mismatch',
      diagnostics: {
        signatureHeaders: ['x-hub-signature-256'],
        bodyLength: Buffer.byteLength(body),
        contentType: 'application/json',
      },
    });
    expect((await h.store.getCounters(registration.id)).verificationFailureCount).toBe(5);
    const health = await h.service.checkWebhookHealth(registration.id, TENANT);
    expect(health.failureCount).toBe(0);
    expect(health.status).not.toBe('failed');
  });

  it('keeps only the first 4 KB of a rejected body and at most 100 rejections', async () => {
    const h = harness();
    const registration = await registerGitHub(h);
    const big = 'x'.repeat(10_000);
    for (let i = 0; i < 105; i++) {
      await h.service.processWebhookEvent(registration.id, { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` }, big);
      h.clock.advance(1000);
    }
    const deliveries = await h.service.listDeliveries(registration.id, TENANT, 500);
    expect(deliveries).toHaveLength(100);
    expect(deliveries[0]!.body.byteLength).toBe(4096);
    expect(deliveries[0]!.bodyTruncated).toBe(true);
  });

  it('a flood of bad signatures: every one counted, at most rejectionsKeptPerMinute stored', async () => {
    const h = harness({ rejectionsKeptPerMinute: 10 });
    const registration = await registerGitHub(h);
    const junk = { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` };
    const answers = await Promise.all(
      Array.from({ length: 300 }, () => h.service.processWebhookEvent(registration.id, junk, '{}')),
    );
    expect(answers.every((a) => a.status === 401)).toBe(true);
    expect(await h.service.listDeliveries(registration.id, TENANT, 500)).toHaveLength(10);
    await h.service.settle();
    expect((await h.store.getCounters(registration.id)).verificationFailureCount).toBe(300);
    h.clock.advance(60_000);
    await h.service.processWebhookEvent(registration.id, junk, '{}');
    expect(await h.service.listDeliveries(registration.id, TENANT, 500)).toHaveLength(11);
  });

  it('answers a repeat of a delivery with 200 duplicate and triggers nothing', async () => {
    const h = harness();
    const registration = await registerGitHub(h);
    const delivery = githubDelivery(registration);
    await h.service.processWebhookEvent(registration.id, delivery.headers, delivery.body);
    const again = await h.service.processWebhookEvent(registration.id, delivery.headers, delivery.body);
    expect(again).toMatchObject({ success: true, status: 200, duplicate: true, queued: false, syncTriggered: false });
    expect(h.queue.messages).toHaveLength(1);
  });

  it('answers 400, not 5xx, when the caller passes headers or a body of the wrong kind', async () => {
    const h = harness();
    const registration = await registerGitHub(h);
    const misuses: Array<[unknown, unknown]> = [
      [{}, 42],
      [{}, { not: 'bytes' }],
      [{}, undefined],
      ['headers', '{}'],
      [[['x-github-event', 'issues']], '{}'],
    ];
    for (const [headers, body] of misuses) {
      const result = await h.service.processWebhookEvent(registration.id, headers as never, body as never);
      expect(result, JSON.stringify([headers, body])).toMatchObject({ status: 400, code: 'invalid_request' });
    }
    expect((await h.service.listDeliveries(registration.id, TENANT)).length).toBe(0);
  });

  it('dedupes on the hash of the signed bytes when the provider sends no delivery id, for at least 7 days', async () => {
    const h = harness();
    const { registration } = await h.service.registerWebhook(TENANT, 'salesforce', 'c', ['contact.*']);
    const headers = signSalesforce({ body: salesforceBody, secret: registration.webhookSecret });
    await h.service.processWebhookEvent(registration.id, headers, salesforceBody);
    h.clock.advance(7 * 24 * 3600_000 - 1);
    expect(await h.service.processWebhookEvent(registration.id, headers, salesforceBody)).toMatchObject({
      duplicate: true,
    });
    h.clock.advance(2);
    expect(await h.service.processWebhookEvent(registration.id, headers, salesforceBody)).toMatchObject({
      duplicate: false,
    });
  });

  it('stores but triggers nothing for an event no pattern matches', async () => {
    const h = harness();
    const registration = await registerGitHub(h, ['pull_request.*']);
    const { headers, body } = githubDelivery(registration);
    expect(await h.service.processWebhookEvent(registration.id, headers, body)).toMatchObject({
      status: 200,
      syncTriggered: false,
    });
    expect(h.queue.messages).toHaveLength(0);
    expect((await h.service.listDeliveries(registration.id, TENANT))[0]).toMatchObject({
      outcome: 'accepted',
      syncTriggered: false,
    });
  });

  it('answers 202 queued when the queue throws, keeps the task in the outbox and dispatches it once later', async () => {
    const h = harness();
    const registration = await registerGitHub(h);
    h.queue.failWith = new Error('ServiceBusError: connection lost');
    const results = [];
    for (let i = 0; i < 3; i++) {
      const { headers, body } = githubDelivery(registration, issueBody(1000 + i));
      results.push(await h.service.processWebhookEvent(registration.id, headers, body));
    }
    for (const result of results) {
      expect(result).toMatchObject({ success: true, status: 202, syncTriggered: false, queued: true });
    }
    expect(await h.store.listOutbox({ status: 'pending' })).toHaveLength(3);

    const dispatcher = new OutboxDispatcher({ outbox: h.store, queue: h.queue, clock: h.clock });
    h.clock.advance(60_000);
    expect(await dispatcher.runOnce()).toMatchObject({ claimed: 3, sent: 0, retried: 3 });
    h.queue.failWith = null;
    h.clock.advance(3600_000);
    expect(await dispatcher.runOnce()).toMatchObject({ claimed: 3, sent: 3 });
    expect(await dispatcher.runOnce()).toMatchObject({ claimed: 0 });
    expect(h.queue.messages.map((m) => m.task.entityId).sort()).toEqual(['1000', '1001', '1002']);
  });

  it('dead-letters a task after the retry policy runs out', async () => {
    const h = harness();
    const { registration } = await h.service.registerWebhook(TENANT, 'github', 'c', ['*'], {
      retryPolicy: { maxRetries: 1, backoffSeconds: 1 },
    });
    h.queue.failWith = new Error('down');
    const { headers, body } = githubDelivery(registration);
    await h.service.processWebhookEvent(registration.id, headers, body);
    const dispatcher = new OutboxDispatcher({ outbox: h.store, queue: h.queue, clock: h.clock });
    h.clock.advance(3600_000);
    expect(await dispatcher.runOnce()).toMatchObject({ dead: 1 });
    expect(await h.store.listOutbox({ status: 'dead' })).toHaveLength(1);
    expect((await h.service.healthCheck()).status).toBe('degraded');
  });

  it('answers 503 and acknowledges nothing when the store fails, and accepts the retry once it is back', async () => {
    const store = failing(new MemoryStore(), ['append', 'appendFresh', 'get']);
    const h = harness({ registrations: store, deliveries: store, outbox: store });
    const registration = await registerGitHub(h);
    const { headers, body } = githubDelivery(registration);
    store.failing = true;
    const result = await h.service.processWebhookEvent(registration.id, headers, body);
    expect(result).toMatchObject({ success: false, status: 503, code: 'store_unavailable' });
    expect(JSON.stringify(result)).not.toContain('connection refused');
    expect(h.queue.messages).toHaveLength(0);
    store.failing = false;
    expect(await h.service.processWebhookEvent(registration.id, headers, body)).toMatchObject({
      status: 200,
      duplicate: false,
    });
    expect(h.queue.messages).toHaveLength(1);
  });

  it('answers 503 when the registration cannot be looked up', async () => {
    const store = failing(new MemoryStore(), ['get']);
    const h = harness({ registrations: store, deliveries: store, outbox: store });
    store.failing = true;
    expect(await h.service.processWebhookEvent('wh_abc', {}, '{}')).toMatchObject({ status: 503 });
  });

  it('counts 50 concurrent events on one registration as 50', async () => {
    const h = harness({ rateLimit: { perMinute: 1000 } });
    const registration = await registerGitHub(h);
    const deliveries = Array.from({ length: 50 }, (_, i) => githubDelivery(registration, issueBody(i + 1)));
    const results = await Promise.all(
      deliveries.map((d) => h.service.processWebhookEvent(registration.id, d.headers, d.body)),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect((await h.store.getCounters(registration.id)).processedEventCount).toBe(50);
    expect(h.queue.messages).toHaveLength(50);
  });

  it('triggers exactly once when the same delivery arrives 5 times concurrently', async () => {
    const h = harness();
    const registration = await registerGitHub(h);
    const delivery = githubDelivery(registration);
    const results = await Promise.all(
      Array.from({ length: 5 }, () => h.service.processWebhookEvent(registration.id, delivery.headers, delivery.body)),
    );
    expect(results.filter((r) => r.duplicate === false)).toHaveLength(1);
    // The others were either told it is stored (200 duplicate) or asked to retry (503 in_progress).
    for (const result of results.filter((r) => r.duplicate !== false)) {
      if (result.status === 200) expect(result).toMatchObject({ success: true, duplicate: true });
      else expect(result).toMatchObject({ status: 503, code: 'in_progress', retryAfterSeconds: 5 });
    }
    // Every 200 answered for a delivery that is stored: the accepted one, with its sync task.
    const accepted = results.find((r) => r.duplicate === false)!;
    expect(accepted.status).toBe(200);
    const stored = await h.store.getDelivery(accepted.deliveryId!);
    expect(stored).toMatchObject({ outcome: 'accepted', syncTriggered: true });
    expect(h.queue.messages).toHaveLength(1);
    expect(h.publisher.events).toHaveLength(1);
  });

  it('loses nothing when a process dies between claiming and storing: 503 in_progress, then accepted', async () => {
    const h = harness();
    const registration = await registerGitHub(h);
    const deliveryId = crypto.randomUUID();
    const delivery = githubDelivery(registration, issueBody(), deliveryId);
    // A receiver claimed the key, then was killed before its append: nothing acknowledged, nothing stored.
    expect(await h.store.claimDedupeKey(registration.id, `id:${deliveryId}`, 60_000, new Date(h.clock.now()))).toBe(
      'claimed',
    );

    // The provider's retry, while the dead receiver's lease still runs: never "duplicate".
    h.clock.advance(30_000);
    const retry = await h.service.processWebhookEvent(registration.id, delivery.headers, delivery.body);
    expect(retry).toMatchObject({
      success: false,
      status: 503,
      code: 'in_progress',
      error: 'This delivery is being processed; retry shortly',
      retryAfterSeconds: 5,
    });
    expect(await h.service.listDeliveries(registration.id, TENANT)).toHaveLength(0);
    expect(h.queue.messages).toHaveLength(0);

    // Past the lease: the next retry is accepted and triggers its sync.
    h.clock.advance(30_000);
    const accepted = await h.service.processWebhookEvent(registration.id, delivery.headers, delivery.body);
    expect(accepted).toMatchObject({ success: true, status: 200, duplicate: false, syncTriggered: true });
    expect(h.queue.messages).toHaveLength(1);
    expect(h.queue.messages[0]!.task).toMatchObject({ deliveryId, entityId: '1234567' });
    // And from now on it is a duplicate, for the dedupe TTL rather than the lease.
    h.clock.advance(24 * 3600_000);
    expect(await h.service.processWebhookEvent(registration.id, delivery.headers, delivery.body)).toMatchObject({
      status: 200,
      duplicate: true,
    });
    expect(h.queue.messages).toHaveLength(1);
  });

  it('honours claimLeaseMs, and a store that dies mid-append leaves the retry free to be accepted', async () => {
    const store = failing(new MemoryStore(), ['append', 'appendFresh']);
    const h = harness({ registrations: store, deliveries: store, outbox: store, claimLeaseMs: 5_000 });
    const registration = await registerGitHub(h);
    const deliveryId = crypto.randomUUID();
    const delivery = githubDelivery(registration, issueBody(), deliveryId);
    await store.claimDedupeKey(registration.id, `id:${deliveryId}`, 5_000, new Date(h.clock.now()));
    expect(await h.service.processWebhookEvent(registration.id, delivery.headers, delivery.body)).toMatchObject({
      status: 503,
      code: 'in_progress',
    });
    h.clock.advance(5_000);
    store.failing = true;
    expect(await h.service.processWebhookEvent(registration.id, delivery.headers, delivery.body)).toMatchObject({
      status: 503,
      code: 'store_unavailable',
    });
    store.failing = false;
    // The failed attempt released its claim: no lease to wait out.
    expect(await h.service.processWebhookEvent(registration.id, delivery.headers, delivery.body)).toMatchObject({
      status: 200,
      duplicate: false,
    });
    expect(h.queue.messages).toHaveLength(1);
  });

  it('answers 429 with Retry-After over the limit for a provider that retries (Slack)', async () => {
    const h = harness({ rateLimit: { perMinute: 3 } });
    const { registration } = await h.service.registerWebhook(TENANT, 'slack', 'c', ['*'], {
      webhookSecret: 'slack-signing-secret',
    });
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof h.service.processWebhookEvent>> | undefined;
    for (let i = 0; i < 5; i++) {
      const body = JSON.stringify({
        type: 'event_callback',
        event_id: `Ev${i}`,
        event: { type: 'message', ts: `1.${i}` },
      });
      const headers = signSlack({
        body,
        secret: registration.webhookSecret,
        timestamp: Math.floor(h.clock.now() / 1000),
      });
      last = await h.service.processWebhookEvent(registration.id, headers, body);
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(last?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
  });

  it('stores GitHub deliveries over the limit and releases their tasks later, since GitHub never retries', async () => {
    const h = harness({ rateLimit: { perMinute: 2 } });
    const registration = await registerGitHub(h);
    const results = [];
    for (let i = 0; i < 4; i++) {
      const { headers, body } = githubDelivery(registration, issueBody(i + 1));
      results.push(await h.service.processWebhookEvent(registration.id, headers, body));
    }
    expect(results.map((r) => r.status)).toEqual([200, 200, 202, 202]);
    expect(h.queue.messages).toHaveLength(2);
    await h.service.settle();
    const dispatcher = new OutboxDispatcher({ outbox: h.store, queue: h.queue, clock: h.clock });
    expect(await dispatcher.runOnce()).toMatchObject({ claimed: 0 });
    h.clock.advance(30_000);
    expect(await dispatcher.runOnce()).toMatchObject({ sent: 1 });
    h.clock.advance(30_000);
    expect(await dispatcher.runOnce()).toMatchObject({ sent: 1 });
    expect(h.queue.messages).toHaveLength(4);
  });

  it('asks the cache and the limiter by promise when they have no synchronous form (Redis)', async () => {
    // Ports with only the required methods, as the Redis cache and limiter are.
    const lru = new LruRegistrationCache();
    const cache: RegistrationCache = {
      get: (id) => lru.get(id),
      set: (r) => lru.set(r),
      invalidate: (id) => lru.invalidate(id),
      stats: () => lru.stats(),
    };
    const memory = new MemoryRateLimiter();
    const asked: string[] = [];
    const rateLimiter: RateLimiter = {
      consume: (key, limit, windowMs) => {
        asked.push(key.split(':')[0]!);
        return memory.consume(key, limit, windowMs);
      },
    };
    const h = harness({ cache, rateLimiter, rateLimit: { perMinute: 2, floodPerMinute: 100 } });
    const registration = await registerGitHub(h);
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      const { headers, body } = githubDelivery(registration, issueBody(i + 1));
      statuses.push((await h.service.processWebhookEvent(registration.id, headers, body)).status);
    }
    // The third is over the limit: stored, its task held (GitHub never retries).
    expect(statuses).toEqual([200, 200, 202]);
    expect(asked).toEqual(['flood', 'rate', 'flood', 'rate', 'flood', 'rate']);
    // The first verified event marks the registration verified, which drops its cache entry once.
    expect(cache.stats()).toMatchObject({ hits: 2, misses: 1 });
  });

  it('takes an in-process cache hit and limiter decision without a promise, counted as before', async () => {
    const cache = new LruRegistrationCache();
    const rateLimiter = new MemoryRateLimiter();
    const h = harness({ cache, rateLimiter, rateLimit: { perMinute: 1000 } });
    const registration = await registerGitHub(h);
    let promised = 0;
    const get = cache.get.bind(cache);
    cache.get = (id) => {
      promised++;
      return get(id);
    };
    rateLimiter.consume = async () => {
      promised++;
      throw new Error('the synchronous form is there');
    };
    const { headers, body } = githubDelivery(registration);
    expect(await h.service.processWebhookEvent(registration.id, headers, body)).toMatchObject({ status: 200 });
    expect(promised).toBe(0);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 0 });
    // An id the cache does not hold is looked up as before, and counted a miss.
    expect(await h.service.processWebhookEvent('wh_unknown', headers, body)).toMatchObject({ status: 404 });
    expect(promised).toBe(1);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1 });
  });

  it("does not let junk spend the registration's limit: only verified deliveries count", async () => {
    const h = harness({ rateLimit: { perMinute: 3, floodPerMinute: 1000 } });
    const { registration } = await h.service.registerWebhook(TENANT, 'slack', 'c', ['*'], {
      webhookSecret: 'slack-signing-secret',
    });
    for (let i = 0; i < 20; i++) {
      expect((await h.service.processWebhookEvent(registration.id, {}, `junk ${i}`)).status).toBe(401);
    }
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      const body = JSON.stringify({
        type: 'event_callback',
        event_id: `EvJ${i}`,
        event: { type: 'message', ts: `2.${i}` },
      });
      const headers = signSlack({
        body,
        secret: registration.webhookSecret,
        timestamp: Math.floor(h.clock.now() / 1000),
      });
      statuses.push((await h.service.processWebhookEvent(registration.id, headers, body)).status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it('refuses a flood of unsigned junk before verifying it', async () => {
    const h = harness({ rateLimit: { perMinute: 100, floodPerMinute: 10 } });
    const registration = await registerGitHub(h);
    const statuses = [];
    for (let i = 0; i < 12; i++)
      statuses.push((await h.service.processWebhookEvent(registration.id, {}, 'junk')).status);
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(10)).toEqual([429, 429]);
  });

  it('answers 400 for a verified but unparseable body and counts it as a failure', async () => {
    const h = harness();
    const registration = await registerGitHub(h);
    const body = '{"not":"a github event"}';
    const result = await h.service.processWebhookEvent(
      registration.id,
      signGitHub({ body, secret: registration.webhookSecret }),
      body,
    );
    expect(result).toMatchObject({ success: false, status: 400, code: 'invalid_payload' });
    expect((await h.store.getCounters(registration.id)).failureCount).toBe(1);
  });

  it('marks a pending registration active and verified on its first verified event', async () => {
    const h = harness();
    const registration = await registerGitHub(h);
    const { headers, body } = githubDelivery(registration);
    await h.service.processWebhookEvent(registration.id, headers, body);
    expect(await h.service.getWebhookRegistration(registration.id, TENANT)).toMatchObject({
      status: 'active',
      isVerified: true,
    });
  });

  it('publishes webhook.received without the secret, and a publish failure does not fail the webhook', async () => {
    const h = harness();
    const registration = await registerGitHub(h);
    const first = githubDelivery(registration);
    await h.service.processWebhookEvent(registration.id, first.headers, first.body);
    const [published] = h.publisher.events;
    expect(published).toMatchObject({
      eventType: 'webhook.received',
      subject: `/github/webhooks/${registration.id}`,
      data: { syncTriggered: true },
    });
    expect(JSON.stringify(published)).not.toContain(registration.webhookSecret);
    h.publisher.failWith = new Error('Event Grid down');
    const second = githubDelivery(registration, issueBody(99));
    expect(await h.service.processWebhookEvent(registration.id, second.headers, second.body)).toMatchObject({
      status: 200,
    });
  });
});

describe('handshakes', () => {
  it("answers Slack's signed url_verification with the challenge and verifies the registration", async () => {
    const h = harness();
    const { registration } = await h.service.registerWebhook(TENANT, 'slack', 'c', ['*'], {
      webhookSecret: 'slack-signing-secret',
    });
    const body = JSON.stringify({
      token: 'x',
      challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
      type: 'url_verification',
    });
    const unsigned = await h.service.processWebhookEvent(registration.id, {}, body);
    expect(unsigned.status).toBe(401);
    const headers = signSlack({
      body,
      secret: registration.webhookSecret,
      timestamp: Math.floor(h.clock.now() / 1000),
    });
    const result = await h.service.processWebhookEvent(registration.id, headers, body);
    expect(result).toMatchObject({
      status: 200,
      response: { body: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' },
    });
    expect(await h.service.getWebhookRegistration(registration.id, TENANT)).toMatchObject({
      status: 'active',
      isVerified: true,
    });
  });

  it("captures Notion's verification_token as the secret and stays pending until a verified event", async () => {
    const h = harness();
    const { registration } = await h.service.registerWebhook(TENANT, 'notion', 'c', ['page.*']);
    const token = 'secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl';
    const handshakeBody = JSON.stringify({ verification_token: token });
    const result = await h.service.processWebhookEvent(
      registration.id,
      signNotion({ body: handshakeBody, secret: token }),
      handshakeBody,
    );
    expect(result.status).toBe(200);
    expect(JSON.stringify(result)).not.toContain(token);
    expect(await h.service.getPendingVerificationToken(registration.id, TENANT)).toBe(token);
    expect((await h.service.getWebhookRegistration(registration.id, TENANT))?.status).toBe('pending_verification');

    const event = JSON.stringify({
      id: '367cba44-b6f3-4c92-81e7-6a2e9659efd4',
      timestamp: '2024-12-05T23:55:34.285Z',
      type: 'page.created',
      entity: { id: '153104cd-477e-809d-8dc4-ff2d96ae3090', type: 'page' },
      data: {},
    });
    expect(
      await h.service.processWebhookEvent(registration.id, signNotion({ body: event, secret: token }), event),
    ).toMatchObject({
      status: 200,
      syncTriggered: true,
    });
    expect((await h.service.getWebhookRegistration(registration.id, TENANT))?.status).toBe('active');
    expect(await h.service.getPendingVerificationToken(registration.id, TENANT)).toBeNull();
  });

  it('takes only the first verification_token, and never one over a secret the operator supplied', async () => {
    const handshake = (token: string) => JSON.stringify({ verification_token: token });
    const notionEvent = JSON.stringify({
      id: '367cba44-b6f3-4c92-81e7-6a2e9659efd4',
      timestamp: '2024-12-05T23:55:34.285Z',
      type: 'page.created',
      entity: { id: '153104cd-477e-809d-8dc4-ff2d96ae3090', type: 'page' },
      data: {},
    });
    const real = 'secret_realTokenFromNotion0000000000000000000000';
    const forged = 'secret_sentBySomeoneWithTheUrl000000000000000000';

    // Pending, nothing captured yet: Notion's token is taken; one sent after it is answered and ignored.
    const h = harness();
    const { registration } = await h.service.registerWebhook(TENANT, 'notion', 'c', ['page.*']);
    for (const token of [real, forged])
      expect(await h.service.processWebhookEvent(registration.id, {}, handshake(token))).toMatchObject({ status: 200 });
    expect(await h.service.getPendingVerificationToken(registration.id, TENANT)).toBe(real);
    const signed = (secret: string) => signNotion({ body: notionEvent, secret });
    expect(await h.service.processWebhookEvent(registration.id, signed(forged), notionEvent)).toMatchObject({
      status: 401,
    });
    expect(await h.service.processWebhookEvent(registration.id, signed(real), notionEvent)).toMatchObject({
      status: 200,
    });

    // The service's own metadata keys cannot be set by the caller (they would re-reveal the secret).
    const sneaky = await h.service.registerWebhook(TENANT, 'notion', 'c3', ['page.*'], {
      metadata: { verificationTokenCaptured: true, secretSupplied: true, note: 'kept' },
    });
    expect(sneaky.registration.metadata).toEqual({ note: 'kept' });
    expect(await h.service.getPendingVerificationToken(sneaky.registration.id, TENANT)).toBeNull();

    // The operator supplied Notion's token at registration: a handshake changes nothing.
    const supplied = await h.service.registerWebhook(TENANT, 'notion', 'c2', ['page.*'], { webhookSecret: real });
    expect(await h.service.processWebhookEvent(supplied.registration.id, {}, handshake(forged))).toMatchObject({
      status: 200,
    });
    expect(await h.service.getPendingVerificationToken(supplied.registration.id, TENANT)).toBeNull();
    expect(await h.service.processWebhookEvent(supplied.registration.id, signed(real), notionEvent)).toMatchObject({
      status: 200,
      syncTriggered: true,
    });
  });
});

describe('rotateWebhookSecret', () => {
  it('returns the new secret once; the old one verifies through the grace period, then is rejected', async () => {
    const h = harness();
    const registration = await registerGitHub(h);
    const oldSecret = registration.webhookSecret;
    const rotated = await h.service.rotateWebhookSecret(registration.id, TENANT);
    expect(rotated.webhookSecret).not.toBe(oldSecret);
    expect(rotated.previousSecretExpiresAt).toEqual(new Date(h.clock.now() + 24 * 3600_000));

    const signedWith = (secret: string, id: number) => {
      const body = issueBody(id);
      return { headers: signGitHub({ body, secret, deliveryId: `d-${id}`, event: 'issues' }), body };
    };
    const byNew = signedWith(rotated.webhookSecret, 1);
    const byOld = signedWith(oldSecret, 2);
    expect(await h.service.processWebhookEvent(registration.id, byNew.headers, byNew.body)).toMatchObject({
      status: 200,
      secretIndex: 0,
    });
    expect(await h.service.processWebhookEvent(registration.id, byOld.headers, byOld.body)).toMatchObject({
      status: 200,
      secretIndex: 1,
    });
    const [old, fresh] = await h.service.listDeliveries(registration.id, TENANT, 2);
    expect(old?.secretIndex).toBe(1);
    expect(fresh?.secretIndex).toBe(0);

    h.clock.advance(24 * 3600_000 + 1);
    const late = signedWith(oldSecret, 3);
    expect(await h.service.processWebhookEvent(registration.id, late.headers, late.body)).toMatchObject({
      status: 401,
    });
  });

  it('installs a provider-issued secret instead of generating one', async () => {
    const h = harness();
    const { registration } = await h.service.registerWebhook(TENANT, 'stripe', 'c', ['customer.*']);
    const { webhookSecret } = await h.service.rotateWebhookSecret(registration.id, TENANT, {
      webhookSecret: 'whsec_from_stripe_dashboard',
    });
    expect(webhookSecret).toBe('whsec_from_stripe_dashboard');
    const body = JSON.stringify({
      id: 'evt_1',
      object: 'event',
      type: 'customer.created',
      created: 1,
      data: { object: { id: 'cus_1', object: 'customer' } },
    });
    const headers = signStripe({ body, secret: webhookSecret, timestamp: Math.floor(h.clock.now() / 1000) });
    expect(await h.service.processWebhookEvent(registration.id, headers, body)).toMatchObject({
      status: 200,
      entityId: 'cus_1',
    });
  });
});

describe('health counters', () => {
  it('keeps counts a failed counter write could not record, and writes them once the store is back', async () => {
    const store = new MemoryStore();
    const registrations = failing(store, ['recordOutcome']);
    const h = harness({ registrations, deliveries: store, outbox: store });
    const registration = await registerGitHub(h);
    registrations.failing = true;
    for (let i = 0; i < 10; i++) {
      const junk = githubDelivery({ ...registration, webhookSecret: 'whsec_wrong' }, issueBody(i + 1));
      expect(await h.service.processWebhookEvent(registration.id, junk.headers, junk.body)).toMatchObject({
        status: 401,
      });
    }
    // settle() returns while the store refuses (shutdown must not hang on it), and loses nothing.
    await h.service.settle();
    expect((await store.getCounters(registration.id)).verificationFailureCount).toBe(0);
    registrations.failing = false;
    await h.service.settle();
    expect((await store.getCounters(registration.id)).verificationFailureCount).toBe(10);
  });
});

describe('the registration cache', () => {
  it('is not refilled with what a lookup read before a rotation committed', async () => {
    const store = new MemoryStore();
    // The store's reads can be held open, as a slow database holds them.
    let hold: Promise<void> | undefined;
    const registrations = new Proxy(store, {
      get(target, property) {
        if (property === 'get') {
          return async (id: string) => {
            const found = await target.get(id);
            if (hold) await hold;
            return found;
          };
        }
        const value = Reflect.get(target, property);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const h = harness({ registrations, deliveries: store, outbox: store });
    const registration = await registerGitHub(h);
    const first = githubDelivery(registration);
    expect(await h.service.processWebhookEvent(registration.id, first.headers, first.body)).toMatchObject({
      status: 200,
    });
    // Marking it verified invalidated the cache: the next delivery reads the store, and is held there.
    let release!: () => void;
    hold = new Promise((resolve) => {
      release = resolve;
    });
    const second = githubDelivery(registration, issueBody(2));
    const held = h.service.processWebhookEvent(registration.id, second.headers, second.body);
    await new Promise((resolve) => setTimeout(resolve, 5));
    hold = undefined;
    const rotated = await h.service.rotateWebhookSecret(registration.id, TENANT, { graceMs: 0 });
    release();
    expect(await held).toMatchObject({ status: 200 });
    // Right after the rotation, and still minutes later, the new secret verifies and the old does not.
    for (const advance of [0, 4 * 60_000]) {
      h.clock.advance(advance);
      const fresh = githubDelivery({ ...registration, webhookSecret: rotated.webhookSecret }, issueBody(3 + advance));
      expect(await h.service.processWebhookEvent(registration.id, fresh.headers, fresh.body)).toMatchObject({
        status: 200,
      });
      const old = githubDelivery(registration, issueBody(4 + advance));
      expect(await h.service.processWebhookEvent(registration.id, old.headers, old.body)).toMatchObject({
        status: 401,
      });
    }
  });
});

describe('health', () => {
  it("follows the spec's thresholds: degraded after 1-2 failures, failed at 3, healthy again after a success", async () => {
    const h = harness();
    const registration = await registerGitHub(h);
    const ok = githubDelivery(registration);
    await h.service.processWebhookEvent(registration.id, ok.headers, ok.body);
    expect((await h.service.checkWebhookHealth(registration.id, TENANT)).status).toBe('healthy');
    const junk = '{"unrecognised":true}';
    const bad = signGitHub({ body: junk, secret: registration.webhookSecret });
    await h.service.processWebhookEvent(registration.id, bad, junk);
    expect(await h.service.checkWebhookHealth(registration.id, TENANT)).toMatchObject({
      status: 'failed',
      failureCount: 1,
      failureRate: 50,
      recommendations: [...HEALTH_RECOMMENDATIONS.failed],
    });
    await h.service.processWebhookEvent(registration.id, bad, junk);
    await h.service.processWebhookEvent(registration.id, bad, junk);
    expect((await h.service.getWebhookRegistration(registration.id, TENANT))?.status).toBe('failed');
    expect(await h.service.getUnhealthyWebhooks(TENANT)).toHaveLength(1);
    expect((await h.service.healthCheck()).failedRegistrationsCount).toBe(1);
    const again = githubDelivery(registration, issueBody(2));
    await h.service.processWebhookEvent(registration.id, again.headers, again.body);
    expect((await h.service.getWebhookRegistration(registration.id, TENANT))?.status).toBe('active');
    expect((await h.service.checkWebhookHealth(registration.id, TENANT)).failureCount).toBe(0);
  });

  it('keeps the failure rate over real deliveries, however much junk arrives after them', async () => {
    for (const withRecentOutcomes of [true, false]) {
      const store = new MemoryStore();
      // A store without recentOutcomes is read with listDeliveries and filtered: the junk then
      // takes room in the window, so this one is given a window wide enough for both kinds.
      if (!withRecentOutcomes) Object.assign(store, { recentOutcomes: undefined });
      const healthWindow = withRecentOutcomes ? 10 : 200;
      const h = harness({ registrations: store, deliveries: store, outbox: store, healthWindow });
      const registration = await registerGitHub(h);
      const junk = '{"unrecognised":true}';
      const bad = signGitHub({ body: junk, secret: registration.webhookSecret });
      for (let i = 0; i < 4; i++) {
        const d = i % 2 === 0 ? githubDelivery(registration, issueBody(i + 1)) : { headers: bad, body: junk };
        await h.service.processWebhookEvent(registration.id, d.headers, d.body);
      }
      // A stranger's flood of unsigned posts: rejected, stored, and no part of the rate.
      for (let i = 0; i < 150; i++) await h.service.processWebhookEvent(registration.id, {}, `junk ${i}`);
      await h.service.settle();
      expect(await h.service.checkWebhookHealth(registration.id, TENANT), String(withRecentOutcomes)).toMatchObject({
        failureRate: 50,
      });
    }
  });

  it('recommends checking the secret while signatures keep failing, and stops once one verifies', async () => {
    const h = harness();
    const registration = await registerGitHub(h);
    const ok = githubDelivery(registration);
    await h.service.processWebhookEvent(registration.id, ok.headers, ok.body);
    // A rotation the provider has not picked up: it keeps signing with the old secret.
    const rotated = await h.service.rotateWebhookSecret(registration.id, TENANT, { graceMs: 0 });
    for (let i = 0; i < 5; i++) {
      const stale = githubDelivery(registration, issueBody(i + 10));
      expect(await h.service.processWebhookEvent(registration.id, stale.headers, stale.body)).toMatchObject({
        status: 401,
      });
      const health = await h.service.checkWebhookHealth(registration.id, TENANT);
      // Only a recommendation, and only after a streak: the status is not a stranger's to change.
      expect(health.status).toBe('healthy');
      expect(health.recommendations.includes(SIGNATURES_FAILING_RECOMMENDATION)).toBe(i === 4);
    }
    const fixed = githubDelivery({ ...registration, webhookSecret: rotated.webhookSecret }, issueBody(20));
    expect(await h.service.processWebhookEvent(registration.id, fixed.headers, fixed.body)).toMatchObject({
      status: 200,
    });
    expect((await h.service.checkWebhookHealth(registration.id, TENANT)).recommendations).toEqual([]);
  });

  it('degrades at a 1-2 failure streak when the rate stays low', async () => {
    const h = harness();
    const registration = await registerGitHub(h);
    for (let i = 0; i < 30; i++) {
      const d = githubDelivery(registration, issueBody(i + 1));
      await h.service.processWebhookEvent(registration.id, d.headers, d.body);
    }
    const junk = '{"unrecognised":true}';
    await h.service.processWebhookEvent(
      registration.id,
      signGitHub({ body: junk, secret: registration.webhookSecret }),
      junk,
    );
    expect(await h.service.checkWebhookHealth(registration.id, TENANT)).toMatchObject({
      status: 'degraded',
      failureCount: 1,
      recommendations: [...HEALTH_RECOMMENDATIONS.degraded],
    });
  });

  it('reports a registration that has gone silent', async () => {
    const h = harness({ silentAfterMs: 3600_000 });
    const registration = await registerGitHub(h);
    const d = githubDelivery(registration);
    await h.service.processWebhookEvent(registration.id, d.headers, d.body);
    h.clock.advance(3600_001);
    expect((await h.service.checkWebhookHealth(registration.id, TENANT)).recommendations).toContain(
      SILENT_RECOMMENDATION,
    );
  });

  it('reports service health with counts and the cache hit rate', async () => {
    const h = harness();
    const registration = await registerGitHub(h);
    const d = githubDelivery(registration);
    await h.service.processWebhookEvent(registration.id, d.headers, d.body);
    const health = await h.service.healthCheck();
    expect(health).toMatchObject({ status: 'healthy', registrationsCount: 1, failedRegistrationsCount: 0 });
    expect(health.cacheHitRate).toBeGreaterThan(0);
  });

  it('is unhealthy when the store is down', async () => {
    const store = failing(new MemoryStore(), ['counts']);
    const h = harness({ registrations: store, deliveries: store, outbox: store });
    store.failing = true;
    expect((await h.service.healthCheck()).status).toBe('unhealthy');
  });
});

describe('tenant isolation', () => {
  it("answers not-found for another tenant's registration on every tenant-scoped method", async () => {
    const h = harness();
    const registration = await registerGitHub(h);
    const d = githubDelivery(registration);
    const { deliveryId } = await h.service.processWebhookEvent(registration.id, d.headers, d.body);
    expect(await h.service.getWebhookRegistration(registration.id, OTHER_TENANT)).toBeNull();
    expect(await h.service.listRegistrations(OTHER_TENANT)).toEqual([]);
    expect(await h.service.getUnhealthyWebhooks(OTHER_TENANT)).toEqual([]);
    const attempts = [
      h.service.unregisterWebhook(registration.id, OTHER_TENANT),
      h.service.rotateWebhookSecret(registration.id, OTHER_TENANT),
      h.service.checkWebhookHealth(registration.id, OTHER_TENANT),
      h.service.listDeliveries(registration.id, OTHER_TENANT),
      h.service.replayDelivery(deliveryId!, OTHER_TENANT),
      h.service.getPendingVerificationToken(registration.id, OTHER_TENANT),
    ];
    for (const attempt of attempts) {
      await expect(attempt).rejects.toBeInstanceOf(WebhookError);
      await expect(attempt).rejects.toMatchObject({ code: 'not_found', status: 404 });
    }
    expect(await h.service.getWebhookRegistration(registration.id, TENANT)).not.toBeNull();
  });
});

describe('listing, unregistering and replaying', () => {
  it('lists registrations with integration and connection filters', async () => {
    const h = harness();
    await h.service.registerWebhook(TENANT, 'github', 'conn-a', ['*']);
    await h.service.registerWebhook(TENANT, 'github', 'conn-b', ['*']);
    await h.service.registerWebhook(TENANT, 'salesforce', 'conn-a', ['*']);
    expect(await h.service.listRegistrations(TENANT)).toHaveLength(3);
    expect(await h.service.listRegistrations(TENANT, 'github')).toHaveLength(2);
    expect(await h.service.listRegistrations(TENANT, 'github', 'conn-b')).toHaveLength(1);
  });

  it('unregisters: the provider is told, the store and cache forget, and deliveries get 404', async () => {
    const calls: string[] = [];
    const registrar: ProviderRegistrar = {
      register: async () => ({ kind: 'registered', providerWebhookId: '42' }),
      unregister: async ({ registration }) => void calls.push(registration.providerWebhookId ?? ''),
    };
    const h = harness({ registrars: { github: registrar } });
    const registration = await registerGitHub(h);
    const d = githubDelivery(registration);
    await h.service.processWebhookEvent(registration.id, d.headers, d.body);
    await h.service.unregisterWebhook(registration.id, TENANT);
    expect(calls).toEqual(['42']);
    expect(await h.service.getWebhookRegistration(registration.id, TENANT)).toBeNull();
    const again = githubDelivery(registration, issueBody(5));
    expect(await h.service.processWebhookEvent(registration.id, again.headers, again.body)).toMatchObject({
      status: 404,
    });
  });

  it('replays a stored delivery from its raw bytes: verified again and triggered again', async () => {
    const h = harness();
    const registration = await registerGitHub(h);
    const d = githubDelivery(registration);
    const first = await h.service.processWebhookEvent(registration.id, d.headers, d.body);
    h.clock.advance(3600_000);
    const replay = await h.service.replayDelivery(first.deliveryId!, TENANT);
    expect(replay).toMatchObject({ success: true, status: 200, syncTriggered: true, entityId: '1234567' });
    expect(h.queue.messages).toHaveLength(2);
    const [newest] = await h.service.listDeliveries(registration.id, TENANT, 1);
    expect(newest).toMatchObject({ replayOf: first.deliveryId });
  });

  it('replays a delivery rejected for a wrong secret once the right secret is installed', async () => {
    const h = harness();
    const registration = await registerGitHub(h);
    const body = issueBody();
    const providerSecret = 'the-secret-github-actually-uses';
    const rejected = await h.service.processWebhookEvent(
      registration.id,
      signGitHub({ body, secret: providerSecret }),
      body,
    );
    expect(rejected.status).toBe(401);
    const [record] = await h.service.listDeliveries(registration.id, TENANT, 1);
    expect(await h.service.replayDelivery(record!.id, TENANT)).toMatchObject({ status: 401 });
    await h.service.rotateWebhookSecret(registration.id, TENANT, { webhookSecret: providerSecret });
    expect(await h.service.replayDelivery(record!.id, TENANT)).toMatchObject({ status: 200, syncTriggered: true });
  });

  it('answers not-found for an unknown delivery id', async () => {
    const h = harness();
    await expect(h.service.replayDelivery('dlv_nope', TENANT)).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe('the embedded queue (no SyncQueue)', () => {
  it('keeps matched tasks in the outbox for an in-process worker, which runs each once', async () => {
    const h = harness({ queue: undefined });
    const registration = await registerGitHub(h);
    const first = githubDelivery(registration);
    const result = await h.service.processWebhookEvent(registration.id, first.headers, first.body);
    expect(result).toMatchObject({ status: 200, syncTriggered: true, queued: false });
    expect(await h.store.listOutbox({ status: 'pending' })).toHaveLength(1);

    const seen: string[] = [];
    let failOnce = true;
    const worker = createEmbeddedWorker({
      outbox: h.store,
      clock: h.clock,
      retryPolicy: { backoffSeconds: 1 },
      handler: async (task, { attempt }) => {
        if (failOnce) {
          failOnce = false;
          throw new Error('sync backend busy');
        }
        seen.push(`${task.entityId}#${attempt}`);
      },
    });
    expect(await worker.runOnce()).toMatchObject({ claimed: 1, retried: 1 });
    h.clock.advance(1000);
    expect(await worker.runOnce()).toMatchObject({ claimed: 1, sent: 1 });
    expect(await worker.runOnce()).toMatchObject({ claimed: 0 });
    expect(seen).toEqual(['1234567#2']);
  });
});
