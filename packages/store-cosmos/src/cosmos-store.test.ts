import { BulkOperationType, type OperationInput } from '@azure/cosmos';
import type { DeliveryRecord, FreshAppend, NewOutboxTask, PublishedEvent, WebhookRegistration } from '@webhooks/core';
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

function publishedEvent(): PublishedEvent {
  const { webhookSecret: _secret, previousSecrets: _previous, ...webhook } = registration('wh_1');
  return {
    id: 'evt-1',
    eventType: 'webhook.received',
    subject: '/github/webhooks/wh_1',
    eventTime: new Date(T0),
    data: {
      webhook,
      event: {
        providerId: 'github',
        eventType: 'opened',
        entityType: 'issue',
        entityId: '1',
        data: { title: 'ünïcødé' },
        timestamp: new Date(T0 - 1000),
        deliveryId: 'd-1',
      },
      syncTriggered: true,
    },
  };
}

const docPath = (containerId: string, id: string) => `/dbs/${databaseId}/colls/${containerId}/docs/${id}`;

/** Every item of the deliveries container, system properties (etags) included, in a stable order. */
async function deliveryItems(): Promise<Array<Record<string, unknown>>> {
  const { resources } = await container(CONTAINERS.deliveries)
    .items.query<Record<string, unknown>>({ query: 'SELECT * FROM c' })
    .fetchAll();
  return resources.sort((a, b) => String(a.id).localeCompare(String(b.id)));
}

function fresh(keys: string[], now = T0): FreshAppend {
  return { commit: { keys, expiresAt: new Date(now + 7 * 86_400_000) }, now: new Date(now), countSuccess: true };
}

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

describe('appendFresh (the one-write receive)', () => {
  it('is one request: a transactional batch in the delivery partition, claims created committed', async () => {
    const keys = ['id:one', 'id:two', 'id:three'];
    const result = await store.appendFresh(
      delivery('dlv_f', { dedupeKeys: keys }),
      [task('t_f1'), task('t_f2')],
      fresh(keys, T0 + 5),
    );
    expect(result).toEqual({ status: 'stored', counted: false });
    expect(cosmos.requests).toEqual([
      {
        method: 'POST',
        path: `/dbs/${databaseId}/colls/${CONTAINERS.deliveries}/docs`,
        query: false,
        batch: true,
        plan: false,
        partitionKey: '["wh_1"]',
      },
    ]);
    const items = await deliveryItems();
    expect(items.map((i) => i.type)).toEqual(['claim', 'claim', 'claim', 'delivery', 'outbox', 'outbox']);
    expect(items.slice(3).map((i) => i.id)).toEqual(['d.dlv_f', 'o.t_f1', 'o.t_f2']);
    for (const claim of items.filter((i) => i.type === 'claim'))
      expect(claim).toMatchObject({ state: 'committed', expiresAtMs: T0 + 5 + 7 * 86_400_000, registrationId: 'wh_1' });
    for (const key of keys)
      expect(await store.claimDedupeKey('wh_1', key, 60_000, new Date(T0 + 10))).toBe('duplicate');
  });

  it('the two-phase path for the same delivery takes one more write per key', async () => {
    const keys = ['id:one', 'id:two', 'id:three'];
    for (const key of keys) expect(await store.claimDedupeKey('wh_1', key, 60_000, new Date(T0))).toBe('claimed');
    await store.append(delivery('dlv_2p', { dedupeKeys: keys }), [task('t_2p')], fresh(keys).commit);
    expect(cosmos.requests.map((r) => `${r.method}${r.batch ? ' batch' : ''}`)).toEqual([
      'POST',
      'POST',
      'POST',
      'POST batch',
    ]);
  });

  it('a key already claimed (pending, committed, or expired but not yet removed): conflict in that one request, nothing written', async () => {
    expect(await store.claimDedupeKey('wh_1', 'id:pending', 60_000, new Date(T0))).toBe('claimed');
    expect(await store.claimDedupeKey('wh_1', 'id:lapsed', 1_000, new Date(T0))).toBe('claimed');
    await store.append(delivery('dlv_done', { dedupeKeys: ['id:done'] }), [], fresh(['id:done']).commit);
    const before = await deliveryItems();
    for (const key of ['id:pending', 'id:done', 'id:lapsed']) {
      cosmos.requests.length = 0;
      const result = await store.appendFresh(
        delivery(`dlv_${key}`, { dedupeKeys: [key] }),
        [task(`t_${key}`)],
        fresh([key], T0 + 5_000),
      );
      expect(result, key).toEqual({ status: 'conflict', counted: false });
      // No read first: the create's 409 is the check.
      expect(cosmos.requests.map((r) => r.batch)).toEqual([true]);
    }
    // Not a byte changed, etags included.
    expect(await deliveryItems()).toEqual(before);
  });

  it('a repeated key is one claim', async () => {
    const result = await store.appendFresh(delivery('dlv_rep'), [], fresh(['id:same', 'id:same']));
    expect(result.status).toBe('stored');
    expect((await deliveryItems()).filter((i) => i.type === 'claim')).toHaveLength(1);
  });

  it('a delivery that needs more than one batch is refused without a request (the two-phase path stores it)', async () => {
    const big = delivery('dlv_big_fresh', { body: new Uint8Array(512 * 1024 + 1) });
    expect(await store.appendFresh(big, [], fresh(['id:big']))).toEqual({ status: 'conflict', counted: false });
    const tasks = Array.from({ length: 99 }, (_, i) => task(`t_many_${i}`));
    expect(await store.appendFresh(delivery('dlv_many_fresh'), tasks, fresh(['id:many']))).toEqual({
      status: 'conflict',
      counted: false,
    });
    expect(cosmos.requests).toEqual([]);
    // 98 tasks + the delivery + one claim is exactly 100 operations: one batch.
    expect((await store.appendFresh(delivery('dlv_fits'), tasks.slice(1), fresh(['id:many']))).status).toBe('stored');
    expect(cosmos.requests).toHaveLength(1);
  });

  it('needs a registration id of ours', async () => {
    await expect(
      store.appendFresh(delivery('dlv_bad', { registrationId: '../x' }), [], fresh(['id:1'])),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    expect(cosmos.requests).toEqual([]);
  });

  it('with WebhookManagementService: a signed delivery is stored, and its retry is a duplicate', async () => {
    const queue = new MemorySyncQueue();
    const service = new WebhookManagementService({
      registrations: store,
      deliveries: store,
      outbox: store,
      queue,
      publicBaseUrl: 'https://hooks.example.com',
    });
    const { registration: created } = await service.registerWebhook('tenant-1', 'github', 'conn-1', ['issue.*']);
    const body = JSON.stringify({ action: 'opened', issue: { id: 7, number: 7 } });
    const headers = signGitHub({ body, secret: created.webhookSecret, deliveryId: 'd-fresh', event: 'issues' });
    expect(await service.processWebhookEvent(created.id, headers, body)).toMatchObject({ status: 200, success: true });
    expect(await service.processWebhookEvent(created.id, headers, body)).toMatchObject({
      status: 200,
      duplicate: true,
    });
    expect(queue.messages).toHaveLength(1);
    // Counts the one write could not take (counters live in another container) are written in batches.
    await service.settle();
    expect((await store.getCounters(created.id)).processedEventCount).toBe(1);
  });
});

describe('transactional batches on @vercel/cosmosdb-server', () => {
  // Cosmos DB: a failed batch writes nothing; the failed operation has its status, every other 424
  // (and the SDK resolves, with code 207). This server instead keeps what ran before the failure.
  const conflicting = (): OperationInput[] => [
    {
      operationType: BulkOperationType.Create,
      partitionKey: 'wh_1',
      resourceBody: { id: 'x.new', registrationId: 'wh_1' },
    },
    {
      operationType: BulkOperationType.Create,
      partitionKey: 'wh_1',
      resourceBody: { id: 'x.old', registrationId: 'wh_1' },
    },
    {
      operationType: BulkOperationType.Upsert,
      partitionKey: 'wh_1',
      resourceBody: { id: 'x.late', registrationId: 'wh_1' },
    },
  ];

  it('as released, it does NOT roll back: operations before the failure stay written', async () => {
    const items = container(CONTAINERS.deliveries).items;
    await items.create({ id: 'x.old', registrationId: 'wh_1' });
    const response = await items.batch(conflicting(), 'wh_1');
    expect(response.code).toBe(200);
    expect(response.result?.map((r) => r.statusCode)).toEqual([201, 409, 424]);
    expect((await deliveryItems()).map((i) => i.id)).toEqual(['x.new', 'x.old']);

    // So on this server, appendFresh refused on its second key keeps the first key's claim
    // (committed), though neither the delivery nor its task is written.
    expect(await store.claimDedupeKey('wh_1', 'id:held', 60_000, new Date(T0))).toBe('claimed');
    const result = await store.appendFresh(
      delivery('dlv_partial', { dedupeKeys: ['id:free', 'id:held'] }),
      [task('t_partial')],
      fresh(['id:free', 'id:held'], T0 + 1),
    );
    expect(result.status).toBe('conflict');
    expect(await store.getDelivery('dlv_partial')).toBeNull();
    expect(await store.listOutbox()).toEqual([]);
    expect(await store.claimDedupeKey('wh_1', 'id:free', 60_000, new Date(T0 + 2))).toBe('duplicate');
  });

  describe('with atomicBatches (what the conformance suite runs on)', () => {
    let atomic: LocalCosmos;
    let atomicStore: CosmosStore;
    beforeAll(async () => {
      atomic = await startLocalCosmos({ atomicBatches: true });
    });
    afterAll(async () => {
      await atomic.close();
    });
    beforeEach(async () => {
      atomicStore = await openCosmosStore({ client: atomic.client(), databaseId, secretBox, createIfNotExists: true });
    });
    const atomicItems = async () =>
      (
        await atomic
          .client()
          .database(databaseId)
          .container(CONTAINERS.deliveries)
          .items.query('SELECT * FROM c')
          .fetchAll()
      ).resources.sort((a, b) => String(a.id).localeCompare(String(b.id)));

    it('a failed batch writes nothing and answers as Cosmos DB does', async () => {
      const items = atomic.client().database(databaseId).container(CONTAINERS.deliveries).items;
      await items.create({ id: 'x.old', registrationId: 'wh_1' });
      const before = await atomicItems();
      const response = await items.batch(conflicting(), 'wh_1');
      expect(response.code).toBe(207);
      expect(response.result?.map((r) => r.statusCode)).toEqual([424, 409, 424]);
      expect(await atomicItems()).toEqual(before);
      // Successful batches and single writes are untouched.
      const ok = await items.batch(
        conflicting().filter((_, i) => i !== 1),
        'wh_1',
      );
      expect(ok.result?.map((r) => r.statusCode)).toEqual([201, 201]);
      await expect(items.create({ id: 'x.old', registrationId: 'wh_1' })).rejects.toMatchObject({ code: 409 });
    });

    it('appendFresh refused on its second key leaves nothing behind', async () => {
      expect(await atomicStore.claimDedupeKey('wh_1', 'id:held', 60_000, new Date(T0))).toBe('claimed');
      const before = await atomicItems();
      const result = await atomicStore.appendFresh(
        delivery('dlv_partial', { dedupeKeys: ['id:free', 'id:held'] }),
        [task('t_partial')],
        fresh(['id:free', 'id:held'], T0 + 1),
      );
      expect(result).toEqual({ status: 'conflict', counted: false });
      expect(await atomicItems()).toEqual(before);
      expect(await atomicStore.claimDedupeKey('wh_1', 'id:free', 60_000, new Date(T0 + 2))).toBe('claimed');
    });
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

  it('tasks carry their kind; a publish task keeps its event as JSON text', async () => {
    const event = publishedEvent();
    await store.append(delivery('dlv_k'), [task('t_sync'), { ...task('t_pub'), kind: 'publish', event }]);
    const items = await deliveryItems();
    expect(items.find((i) => i.id === 'o.t_sync')).toMatchObject({ kind: 'sync' });
    expect(items.find((i) => i.id === 'o.t_sync')?.event).toBeUndefined();
    const stored = items.find((i) => i.id === 'o.t_pub');
    expect(stored).toMatchObject({ kind: 'publish' });
    expect(typeof stored?.event).toBe('string');
    const [published] = await store.claimDue(new Date(T0), 10, 1000, 'publish');
    expect(published?.event).toEqual(event);
    expect(published?.event?.data.event.timestamp).toBeInstanceOf(Date);
  });

  it('a task stored before task kinds (no kind) is a sync task', async () => {
    await container(CONTAINERS.deliveries).items.create({
      id: 'o.t_old',
      type: 'outbox',
      taskId: 't_old',
      registrationId: 'wh_1',
      tenantId: 'tenant-1',
      integrationId: 'github',
      messageId: 't_old',
      task: task('t_old').task,
      status: 'pending',
      attempts: 0,
      maxAttempts: 3,
      availableAtMs: T0,
      createdAtMs: T0,
    });
    expect((await store.listOutbox()).map((t) => [t.id, t.kind])).toEqual([['t_old', 'sync']]);
    expect(await store.listOutbox({ kind: 'publish' })).toEqual([]);
    expect(await store.claimDue(new Date(T0), 10, 1000, 'publish')).toEqual([]);
    expect((await store.claimDue(new Date(T0), 10, 1000)).map((t) => [t.id, t.kind])).toEqual([['t_old', 'sync']]);
    expect(await store.outboxStats(new Date(T0))).toMatchObject({ pending: 1 });
  });

  it('completeMany is one batch of deletes per partition, no query for tasks this process knows', async () => {
    await store.append(delivery('dlv_m1'), [task('t_m1'), task('t_m2'), task('t_m3')]);
    await store.append(delivery('dlv_m2', { registrationId: 'wh_2' }), [task('t_m4'), task('t_m5')]);
    cosmos.requests.length = 0;
    await store.completeMany(['t_m1', 't_m2', 't_m3', 't_m4', 't_m5', 't_m1']);
    expect(cosmos.requests.map((r) => [r.batch, r.partitionKey]).sort()).toEqual([
      [true, '["wh_1"]'],
      [true, '["wh_2"]'],
    ]);
    expect(await store.listOutbox()).toEqual([]);
  });

  it('completeMany of another process finds its tasks with one query, then one batch per partition', async () => {
    await store.append(delivery('dlv_m1'), [task('t_m1'), task('t_m2')]);
    await store.append(delivery('dlv_m2', { registrationId: 'wh_2' }), [task('t_m3')]);
    const other = await openCosmosStore({ client: cosmos.client(), databaseId, secretBox });
    cosmos.requests.length = 0;
    await other.completeMany(['t_m1', 't_m2', 't_m3', 't_unknown']);
    const queries = cosmos.requests.filter((r) => r.query && !r.plan);
    expect(queries).toHaveLength(1);
    expect(queries[0]?.text).toContain('ARRAY_CONTAINS(@ids, c.id)');
    expect(cosmos.requests.filter((r) => r.batch)).toHaveLength(2);
    expect(await store.listOutbox()).toEqual([]);
  });

  it('completeMany: a task gone behind its back (404 fails the batch) falls back to one delete per task', async () => {
    await store.append(delivery('dlv_g'), [task('t_g1'), task('t_g2'), task('t_g3')]);
    await container(CONTAINERS.deliveries).item('o.t_g2', 'wh_1').delete();
    cosmos.requests.length = 0;
    await store.completeMany(['t_g1', 't_g2', 't_g3']);
    expect(cosmos.requests.map((r) => (r.batch ? 'batch' : r.method))).toEqual(['batch', 'DELETE', 'DELETE', 'DELETE']);
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
    await service.settle();
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
