import type { DeliveryRecord, NewOutboxTask, WebhookRegistration } from '@webhooks/core';
import { isWebhookError } from '@webhooks/core';
import { createAesGcmSecretBox, MemorySyncQueue, WebhookManagementService } from '@webhooks/service';
import { HOSTILE_IDS } from '@webhooks/testkit';
import { signGitHub } from '@webhooks/verifiers';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CONTAINERS, type CosmosStore, openCosmosStore } from './cosmos-store.js';
import { claimItemId, REGISTRATION_ID } from './documents.js';
import { CosmosStoreError } from './errors.js';
import { type LocalCosmos, startLocalCosmos } from './test-support.js';

const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);
const secretBox = createAesGcmSecretBox('store-cosmos tests');

let cosmos: LocalCosmos;
let store: CosmosStore;
let databaseId: string;
let databases = 0;

beforeAll(async () => {
  cosmos = await startLocalCosmos();
});
afterAll(async () => {
  await cosmos.close();
});
beforeEach(async () => {
  databaseId = `unit-${++databases}`;
  store = await openCosmosStore({ client: cosmos.client(), databaseId, secretBox, createIfNotExists: true });
  cosmos.requests.length = 0;
});

const container = (id: string) => cosmos.client().database(databaseId).container(id);

function registration(id: string, overrides: Partial<WebhookRegistration> = {}): WebhookRegistration {
  return {
    id,
    tenantId: 'tenant-1',
    integrationId: 'github',
    connectionId: 'conn-1',
    webhookUrl: `https://hooks.example.com/webhooks/${id}`,
    webhookSecret: 'whsec_current_plaintext_marker',
    previousSecrets: [{ secret: 'whsec_previous_plaintext_marker', expiresAt: new Date(T0 + 60_000) }],
    events: ['*'],
    status: 'active',
    isVerified: true,
    failureCount: 0,
    createdAt: new Date(T0),
    updatedAt: new Date(T0),
    ...overrides,
  };
}

function delivery(id: string, overrides: Partial<DeliveryRecord> = {}): DeliveryRecord {
  return {
    id,
    registrationId: 'wh_1',
    tenantId: 'tenant-1',
    receivedAt: new Date(T0),
    headers: { 'content-type': 'application/json' },
    body: new TextEncoder().encode('{"ok":true}'),
    outcome: 'accepted',
    events: [],
    dedupeKeys: [],
    syncTriggered: true,
    ...overrides,
  };
}

function task(id: string): NewOutboxTask {
  return {
    id,
    messageId: id,
    availableAt: new Date(T0),
    maxAttempts: 3,
    task: {
      integrationId: 'github',
      connectionId: 'conn-1',
      syncType: 'webhook_triggered',
      webhookEventId: '1',
      metadata: { webhook: 'wh_1' },
      tenantId: 'tenant-1',
      eventType: 'opened',
      entityType: 'issue',
      entityId: '1',
      deliveryId: 'd-1',
    },
  };
}

const docPath = (containerId: string, id: string) => `/dbs/${databaseId}/colls/${containerId}/docs/${id}`;

describe('get(id)', () => {
  it('is point reads on the receive path: pointer then registration, never a query', async () => {
    await store.create(registration('wh_point'));
    // A second store has no tenant hint yet: the cold path.
    const cold = await openCosmosStore({ client: cosmos.client(), databaseId, secretBox });
    cosmos.requests.length = 0;
    expect((await cold.get('wh_point'))?.id).toBe('wh_point');
    expect(cosmos.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET ${docPath(CONTAINERS.lookups, 'wh_point')}`,
      `GET ${docPath(CONTAINERS.registrations, 'wh_point')}`,
    ]);
    // Warm: a registration never changes tenant, so one point read is enough.
    cosmos.requests.length = 0;
    expect((await cold.get('wh_point'))?.id).toBe('wh_point');
    expect(cosmos.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET ${docPath(CONTAINERS.registrations, 'wh_point')}`,
    ]);
  });

  it('follows the pointer again when a hinted registration moved to another tenant', async () => {
    await store.create(registration('wh_moved', { tenantId: 'tenant-a' }));
    expect((await store.get('wh_moved'))?.tenantId).toBe('tenant-a');
    await store.delete('wh_moved');
    await store.create(registration('wh_moved', { tenantId: 'tenant-b' }));
    const other = await openCosmosStore({ client: cosmos.client(), databaseId, secretBox });
    expect((await other.get('wh_moved'))?.tenantId).toBe('tenant-b');
    expect((await store.get('wh_moved'))?.tenantId).toBe('tenant-b');
  });

  it('hostile ids are null without a single request to Cosmos', async () => {
    // '_' and the like are well-formed ids: they may be looked up (as a parameter), just never found.
    const malformed = [...HOSTILE_IDS, 'a'.repeat(101), 'wh_1/../../x', 'wh_1?x=1', 'wh#1'].filter(
      (id) => !REGISTRATION_ID.test(id),
    );
    expect(malformed.length).toBeGreaterThan(10);
    for (const id of malformed) {
      expect(await store.get(id)).toBeNull();
      await store.delete(id);
      expect(await store.getCounters(id)).toEqual({
        processedEventCount: 0,
        failureCount: 0,
        verificationFailureCount: 0,
      });
      await store.recordOutcome(id, 'success', new Date(T0));
      expect(await store.listDeliveries(id, 10)).toEqual([]);
      await expect(store.update(registration(id))).rejects.toMatchObject({ code: 'not_found' });
    }
    expect(cosmos.requests).toEqual([]);
  });

  it('ids and filters travel as parameters: no query text ever holds caller text', async () => {
    await store.create(registration('wh_q'));
    const hostile = "' OR 1=1 --";
    await store.listRegistrations(hostile, { integrationId: hostile, connectionId: hostile });
    await store.claimDedupeKey('wh_q', hostile, 60_000, new Date(T0));
    await store.getDelivery(hostile);
    await store.listOutbox({ tenantId: hostile, integrationId: hostile });
    await store.listApiKeys(hostile);
    await store.findApiKeyByHash(hostile);
    await store.revokeApiKey(hostile, hostile, new Date(T0));
    const texts = cosmos.requests.flatMap((r) => [r.path, r.text ?? '']);
    expect(texts.some((t) => t.includes('1=1'))).toBe(false);
    expect(cosmos.requests.filter((r) => r.query).every((r) => r.text?.includes('@'))).toBe(true);
  });
});

describe('secrets', () => {
  it('are sealed in the stored item and open again on read', async () => {
    const created = await store.create(registration('wh_sealed'));
    const { resource } = await container(CONTAINERS.registrations).item('wh_sealed', 'tenant-1').read();
    const raw = JSON.stringify(resource);
    expect(raw).not.toContain('plaintext_marker');
    expect(resource.sealedSecret).toMatch(/^v1\./);
    expect(resource.webhookSecret).toBeUndefined();
    expect(created.webhookSecret).toBe('whsec_current_plaintext_marker');
    const got = await store.get('wh_sealed');
    expect(got?.webhookSecret).toBe('whsec_current_plaintext_marker');
    expect(got?.previousSecrets?.[0]?.secret).toBe('whsec_previous_plaintext_marker');
  });

  it('a store with another key cannot read them', async () => {
    await store.create(registration('wh_key'));
    const wrong = await openCosmosStore({
      client: cosmos.client(),
      databaseId,
      secretBox: createAesGcmSecretBox('another key'),
    });
    await expect(wrong.get('wh_key')).rejects.toThrow();
  });
});

describe('etag concurrency and counters', () => {
  it('update with a stale IfMatch is a conflict; the Cosmos etag is the registration etag', async () => {
    const created = await store.create(registration('wh_etag'));
    const { etag } = await container(CONTAINERS.registrations).item('wh_etag', 'tenant-1').read();
    expect(created.etag).toBe(etag);
    await store.update({ ...created, connectionId: 'two' }, { ifMatch: created.etag! });
    const error = await store
      .update({ ...created, connectionId: 'three' }, { ifMatch: created.etag! })
      .catch((e: unknown) => e);
    expect(isWebhookError(error) && error.code).toBe('conflict');
  });

  it('counters are PATCH increments on the pointer, never a rewrite of the registration', async () => {
    await store.create(registration('wh_cnt'));
    cosmos.requests.length = 0;
    await Promise.all(Array.from({ length: 50 }, () => store.recordOutcome('wh_cnt', 'failure', new Date(T0))));
    expect((await store.getCounters('wh_cnt')).failureCount).toBe(50);
    const writes = cosmos.requests.filter((r) => r.method !== 'GET');
    expect(writes).toHaveLength(50);
    expect(writes.every((r) => r.method === 'PATCH' && r.path === docPath(CONTAINERS.lookups, 'wh_cnt'))).toBe(true);
  });
});

describe('dedupe claims', () => {
  it('are documents keyed by a hash of the key: pending with the lease as ttl, then committed for the dedupe TTL', async () => {
    const key = 'id:github-delivery-0001';
    expect(await store.claimDedupeKey('wh_1', key, 60_000, new Date(T0))).toBe('claimed');
    const claims = async () =>
      (
        await container(CONTAINERS.deliveries)
          .items.query({ query: "SELECT * FROM c WHERE c.type = 'claim'" })
          .fetchAll()
      ).resources;
    const [pending, ...others] = await claims();
    expect(others).toHaveLength(0);
    expect(pending.id).toMatch(/^c\.[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(pending)).not.toContain('github-delivery-0001');
    expect(pending).toMatchObject({ registrationId: 'wh_1', state: 'pending', ttl: 60, expiresAtMs: T0 + 60_000 });

    cosmos.requests.length = 0;
    await store.append(delivery('dlv_claim', { dedupeKeys: [key] }), [task('t_claim')], {
      keys: [key],
      expiresAt: new Date(T0 + 7 * 86_400_000),
    });
    // The delivery, its task and the commit of its claim: one transactional batch.
    const writes = cosmos.requests.filter((r) => r.method !== 'GET');
    expect(writes).toHaveLength(1);
    expect(writes[0]?.batch).toBe(true);
    const [committed] = await claims();
    expect(committed).toMatchObject({
      id: pending.id,
      state: 'committed',
      ttl: 7 * 86_400,
      expiresAtMs: T0 + 7 * 86_400_000,
    });
    expect(await store.claimDedupeKey('wh_1', key, 60_000, new Date(T0 + 1))).toBe('duplicate');
  });

  it('a claim written before two-phase claims (no state) counts as committed', async () => {
    await container(CONTAINERS.deliveries).items.create({
      id: claimItemId('id:legacy'),
      type: 'claim',
      registrationId: 'wh_1',
      expiresAtMs: T0 + 86_400_000,
      ttl: 86_400,
    });
    expect(await store.claimDedupeKey('wh_1', 'id:legacy', 60_000, new Date(T0))).toBe('duplicate');
  });

  it('an expired claim is taken over by exactly one of 100 callers (injected time)', async () => {
    expect(await store.claimDedupeKey('wh_1', 'id:x', 5_000, new Date(T0))).toBe('claimed');
    expect(await store.claimDedupeKey('wh_1', 'id:x', 5_000, new Date(T0 + 4_999))).toBe('in_progress');
    const results = await Promise.all(
      Array.from({ length: 100 }, () => store.claimDedupeKey('wh_1', 'id:x', 5_000, new Date(T0 + 5_000))),
    );
    expect(results.filter((r) => r === 'claimed')).toHaveLength(1);
    expect(results.filter((r) => r === 'in_progress')).toHaveLength(99);
  });

  it('needs a registration id of ours', async () => {
    await expect(store.claimDedupeKey('../x', 'id:1', 1000, new Date(T0))).rejects.toMatchObject({
      code: 'invalid_request',
    });
    expect(cosmos.requests).toEqual([]);
  });
});

describe('append', () => {
  it('writes the delivery and its tasks in one transactional batch', async () => {
    await store.append(delivery('dlv_1'), [task('t1'), task('t2')]);
    const writes = cosmos.requests.filter((r) => r.method !== 'GET');
    expect(writes).toHaveLength(1);
    expect(writes[0]?.batch).toBe(true);
    const { resources } = await container(CONTAINERS.deliveries)
      .items.query({ query: "SELECT c.id, c.type FROM c WHERE c.registrationId = 'wh_1'" })
      .fetchAll();
    expect(resources.map((r: { id: string }) => r.id).sort()).toEqual(['d.dlv_1', 'o.t1', 'o.t2']);
  });

  it('a delivery of more than 99 events commits the claims that do not fit after its batch', async () => {
    const keys = Array.from({ length: 120 }, (_, i) => `id:many-${i}`);
    await store.append(delivery('dlv_keys', { dedupeKeys: keys }), [task('t_keys')], {
      keys,
      expiresAt: new Date(T0 + 86_400_000),
    });
    // The task that no longer fits goes first; then the delivery with 99 claims; then the other 21.
    expect(cosmos.requests.filter((r) => r.batch)).toHaveLength(3);
    const answers = await Promise.all(keys.map((key) => store.claimDedupeKey('wh_1', key, 60_000, new Date(T0))));
    expect(answers.every((a) => a === 'duplicate')).toBe(true);
    expect(await store.listOutbox()).toHaveLength(1);
  });

  it('more tasks than one batch holds are all stored, the delivery in the last batch', async () => {
    const tasks = Array.from({ length: 150 }, (_, i) => task(`t${i}`));
    await store.append(delivery('dlv_many'), tasks);
    expect(cosmos.requests.filter((r) => r.batch)).toHaveLength(2);
    expect(await store.listOutbox({ limit: 1000 })).toHaveLength(150);
    expect(await store.getDelivery('dlv_many')).not.toBeNull();
  });

  it('a large body goes into 1 MiB chunk items in the same partition, each under the 2 MB item limit', async () => {
    const body = new Uint8Array(3 * 1024 * 1024 + 7).map((_, i) => (i * 31) % 256);
    await store.append(delivery('dlv_big', { body }), [task('t_big')]);
    // The chunks land first, the delivery with its task last, in one batch.
    const writes = cosmos.requests.filter((r) => r.method !== 'GET');
    expect(writes.at(-1)?.batch).toBe(true);
    expect(writes.filter((r) => !r.batch)).toHaveLength(4);
    const { resources } = await container(CONTAINERS.deliveries)
      .items.query({ query: "SELECT * FROM c WHERE c.registrationId = 'wh_1'" })
      .fetchAll();
    const chunks = resources.filter((r: { type: string }) => r.type === 'bodyChunk');
    const stored = resources.find((r: { type: string }) => r.type === 'delivery');
    expect(chunks).toHaveLength(4);
    for (const chunk of chunks) expect(Buffer.byteLength(JSON.stringify(chunk))).toBeLessThan(2 * 1024 * 1024);
    expect(stored.body).toBeUndefined();
    expect(stored.bodyChunks).toBe(4);
    const got = await store.getDelivery('dlv_big');
    expect(Buffer.from(got!.body).equals(Buffer.from(body))).toBe(true);
    expect(got?.bodyTruncated).toBeUndefined();
  });

  it('a body whose chunk went missing reads back as truncated, never as wrong bytes', async () => {
    const body = new Uint8Array(2 * 1024 * 1024).fill(7);
    await store.append(delivery('dlv_lost', { body }));
    await container(CONTAINERS.deliveries).item('b.dlv_lost.1', 'wh_1').delete();
    const got = await store.getDelivery('dlv_lost');
    expect(got?.bodyTruncated).toBe(true);
    expect(got?.body.byteLength).toBe(0);
  });

  it('deliveries carry the configured ttl', async () => {
    const short = await openCosmosStore({ client: cosmos.client(), databaseId, secretBox, deliveryTtlSeconds: 3600 });
    await short.append(delivery('dlv_ttl'));
    const { resource } = await container(CONTAINERS.deliveries).item('d.dlv_ttl', 'wh_1').read();
    expect(resource.ttl).toBe(3600);
  });
});

describe('listRegistrations', () => {
  it('rejects a continuation token it did not issue', async () => {
    await expect(store.listRegistrations('tenant-1', { continuationToken: 'bm90IG91cnM' })).rejects.toMatchObject({
      code: 'invalid_request',
    });
  });

  it('is a single-partition query in the tenant partition', async () => {
    await store.create(registration('wh_l1'));
    cosmos.requests.length = 0;
    await store.listRegistrations('tenant-1', { status: 'active' });
    // The SDK asks for a query plan first (the local server answers it by running the query).
    const queries = cosmos.requests.filter((r) => r.query && !r.plan);
    expect(queries).toHaveLength(1);
    expect(queries[0]?.text).toContain('c.tenantId = @tenantId');
    expect(queries[0]?.partitionKey).toBe('["tenant-1"]');
  });
});

describe('outbox', () => {
  it('complete and retry after claimDue are point operations, not queries', async () => {
    await store.append(delivery('dlv_o'), [task('t_a'), task('t_b')]);
    const claimed = await store.claimDue(new Date(T0), 10, 30_000);
    expect(claimed.map((t) => t.id).sort()).toEqual(['t_a', 't_b']);
    cosmos.requests.length = 0;
    await store.complete('t_a');
    expect(await store.retry('t_b', 'queue down', new Date(T0 + 1000))).toBe('pending');
    expect(cosmos.requests.some((r) => r.query)).toBe(false);
  });

  it('another process finds a task by a parameterised query', async () => {
    await store.append(delivery('dlv_p'), [task('t_p')]);
    const other = await openCosmosStore({ client: cosmos.client(), databaseId, secretBox });
    await other.complete('t_p');
    expect(await store.listOutbox()).toEqual([]);
  });
});

describe('429 and transport failures', () => {
  it('a throttled request is retried after the server-given retry-after and then succeeds', async () => {
    await store.create(registration('wh_429'));
    cosmos.throttle(2, 150, /\/docs\/wh_429$/);
    const started = performance.now();
    expect((await store.get('wh_429'))?.id).toBe('wh_429');
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('throttling past the retry budget is a CosmosStoreError (503 at the service), with retryAfterInMs', async () => {
    const impatient = await openCosmosStore({
      client: cosmos.client({ maxRetryAttemptCount: 1 }),
      databaseId,
      secretBox,
    });
    cosmos.throttle(5, 20);
    const error = await impatient.get('wh_any').catch((e: unknown) => e);
    cosmos.throttle(0, 0);
    expect(error).toBeInstanceOf(CosmosStoreError);
    expect(isWebhookError(error)).toBe(false);
    expect(error).toMatchObject({ code: 'store_unavailable', statusCode: 429, retryAfterInMs: 20 });
  });

  it('an unreachable account is a CosmosStoreError, and the service answers 503', async () => {
    const down = await openCosmosStore({
      endpoint: 'http://127.0.0.1:9/',
      key: cosmos.key,
      databaseId,
      secretBox,
      retryOptions: { maxRetryAttemptCount: 0, maxWaitTimeInSeconds: 1 },
    });
    const error = await down.get('wh_1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CosmosStoreError);
    expect((error as CosmosStoreError).statusCode).toBeUndefined();
    const service = new WebhookManagementService({
      registrations: down,
      deliveries: down,
      outbox: down,
      queue: new MemorySyncQueue(),
      publicBaseUrl: 'https://hooks.example.com',
    });
    const outcome = await service.processWebhookEvent('wh_1', {}, '{}');
    expect(outcome.status).toBe(503);
    down.close();
  });
});

describe('with WebhookManagementService', () => {
  it('receives a signed GitHub delivery, dedupes its retry, and stores both', async () => {
    const queue = new MemorySyncQueue();
    const service = new WebhookManagementService({
      registrations: store,
      deliveries: store,
      outbox: store,
      queue,
      publicBaseUrl: 'https://hooks.example.com',
    });
    const { registration: created } = await service.registerWebhook('tenant-1', 'github', 'conn-1', ['issue.*']);
    const body = JSON.stringify({ action: 'opened', issue: { id: 1234567, number: 1 } });
    const headers = signGitHub({ body, secret: created.webhookSecret, deliveryId: 'd-1', event: 'issues' });
    const first = await service.processWebhookEvent(created.id, headers, body);
    expect(first).toMatchObject({ status: 200, success: true, syncTriggered: true });
    const again = await service.processWebhookEvent(created.id, headers, body);
    expect(again).toMatchObject({ status: 200, duplicate: true });
    expect(queue.messages).toHaveLength(1);
    const deliveries = await store.listDeliveries(created.id, 10);
    expect(deliveries.map((d) => d.outcome)).toEqual(['duplicate', 'accepted']);
    expect((await store.getCounters(created.id)).processedEventCount).toBe(1);
    expect(await store.outboxStats(new Date())).toMatchObject({ pending: 0, dead: 0 });
  });
});

describe('openCosmosStore', () => {
  it('needs a client or an endpoint and a key', async () => {
    await expect(openCosmosStore({ databaseId: 'x', secretBox })).rejects.toThrow(TypeError);
  });

  it('creates the containers with their partition keys and delivery TTL', async () => {
    const db = cosmos.client().database(databaseId);
    const read = async (id: string) => (await db.container(id).read()).resource;
    expect((await read(CONTAINERS.registrations))?.partitionKey?.paths).toEqual(['/tenantId']);
    expect((await read(CONTAINERS.lookups))?.partitionKey?.paths).toEqual(['/id']);
    const deliveries = await read(CONTAINERS.deliveries);
    expect(deliveries?.partitionKey?.paths).toEqual(['/registrationId']);
    expect(deliveries?.defaultTtl).toBe(-1);
  });
});
