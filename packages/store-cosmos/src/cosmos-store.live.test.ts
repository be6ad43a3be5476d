import { randomBytes } from 'node:crypto';
import { CosmosClient } from '@azure/cosmos';
import type { DeliveryRecord, WebhookRegistration } from '@webhooks/core';
import { createAesGcmSecretBox } from '@webhooks/service';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CosmosStore, DEFAULT_RETRY_OPTIONS, openCosmosStore } from './cosmos-store.js';

const endpoint = process.env.COSMOS_ENDPOINT;
const key = process.env.COSMOS_KEY;

// Runs only against a real account (COSMOS_ENDPOINT and COSMOS_KEY), in a throwaway database that
// is deleted afterwards. Real Cosmos checks what the local server cannot: atomic batches, the 2 MB
// item and batch limits, composite indexes, 429s under load and TTL expiry.
describe.runIf(!!endpoint)('CosmosStore against a real Cosmos DB account', () => {
  const databaseId = `webhooks-live-${randomBytes(4).toString('hex')}`;
  let client: CosmosClient | undefined;
  let store: CosmosStore;

  beforeAll(async () => {
    if (!endpoint || !key) throw new Error('COSMOS_ENDPOINT needs COSMOS_KEY');
    // Endpoint discovery rewrites a plain-http endpoint (a local emulator) to https; real accounts keep it.
    client = new CosmosClient({
      endpoint,
      key,
      connectionPolicy: {
        enableEndpointDiscovery: !endpoint.startsWith('http://'),
        retryOptions: DEFAULT_RETRY_OPTIONS,
      },
    });
    store = await openCosmosStore({
      client,
      databaseId,
      secretBox: createAesGcmSecretBox(randomBytes(32)),
      createIfNotExists: true,
    });
  }, 120_000);

  afterAll(async () => {
    await client
      ?.database(databaseId)
      .delete()
      .catch(() => undefined);
    client?.dispose();
  }, 120_000);

  const now = Date.now();
  const registration = (id: string): WebhookRegistration => ({
    id,
    tenantId: 'live-tenant',
    integrationId: 'github',
    connectionId: 'conn-1',
    webhookUrl: `https://hooks.example.com/webhooks/${id}`,
    webhookSecret: 'whsec_live_secret',
    events: ['*'],
    status: 'active',
    isVerified: true,
    failureCount: 0,
    createdAt: new Date(now),
    updatedAt: new Date(now),
  });

  it('creates, reads, lists and updates with etags', async () => {
    const created = await store.create(registration('wh_live1'));
    expect((await store.get('wh_live1'))?.webhookSecret).toBe('whsec_live_secret');
    expect((await store.listRegistrations('live-tenant')).items.map((r) => r.id)).toContain('wh_live1');
    await store.update({ ...created, connectionId: 'two' }, { ifMatch: created.etag! });
    await expect(store.update({ ...created, connectionId: 'three' }, { ifMatch: created.etag! })).rejects.toMatchObject(
      {
        code: 'conflict',
      },
    );
    await expect(store.create(registration('wh_live1'))).rejects.toMatchObject({ code: 'conflict' });
    expect(await store.get("' OR 1=1 --")).toBeNull();
  }, 60_000);

  it('counts concurrent outcomes exactly and dedupes with one winner', async () => {
    await store.create(registration('wh_live2'));
    await Promise.all(Array.from({ length: 50 }, () => store.recordOutcome('wh_live2', 'success', new Date())));
    expect((await store.getCounters('wh_live2')).processedEventCount).toBe(50);
    const claims = await Promise.all(
      Array.from({ length: 50 }, () => store.claimDedupeKey('wh_live2', 'id:live', 60_000, new Date())),
    );
    expect(claims.filter((c) => c === 'claimed')).toHaveLength(1);
    expect(claims.filter((c) => c === 'in_progress')).toHaveLength(49);
  }, 120_000);

  it('appendFresh is one atomic batch: a conflict on its second key writes nothing', async () => {
    await store.create(registration('wh_live3'));
    const record = (id: string, dedupeKeys: string[]): DeliveryRecord => ({
      id,
      registrationId: 'wh_live3',
      tenantId: 'live-tenant',
      receivedAt: new Date(),
      headers: {},
      body: new Uint8Array([1, 2, 3]),
      outcome: 'accepted',
      events: [],
      dedupeKeys,
      syncTriggered: false,
    });
    const fresh = (keys: string[]) => ({
      commit: { keys, expiresAt: new Date(Date.now() + 3_600_000) },
      now: new Date(),
    });
    expect(await store.claimDedupeKey('wh_live3', 'id:held', 60_000, new Date())).toBe('claimed');
    const keys = ['id:free', 'id:held'];
    expect(await store.appendFresh(record('dlv_live_c', keys), [], fresh(keys))).toEqual({
      status: 'conflict',
      counted: false,
    });
    expect(await store.getDelivery('dlv_live_c')).toBeNull();
    expect(await store.claimDedupeKey('wh_live3', 'id:free', 60_000, new Date())).toBe('claimed');
    expect((await store.appendFresh(record('dlv_live_s', ['id:new']), [], fresh(['id:new']))).status).toBe('stored');
    expect(await store.claimDedupeKey('wh_live3', 'id:new', 60_000, new Date())).toBe('duplicate');
  }, 60_000);

  it('stores a delivery with tasks in one batch, and a 25 MB body in chunks', async () => {
    const body = randomBytes(25 * 1024 * 1024);
    await store.append(
      {
        id: 'dlv_live_big',
        registrationId: 'wh_live2',
        tenantId: 'live-tenant',
        receivedAt: new Date(),
        headers: { 'content-type': 'application/json' },
        body,
        outcome: 'accepted',
        events: [],
        dedupeKeys: ['id:live'],
        syncTriggered: false,
      },
      [
        {
          id: 'task_live',
          messageId: 'task_live',
          availableAt: new Date(),
          maxAttempts: 3,
          task: {
            integrationId: 'github',
            connectionId: 'conn-1',
            syncType: 'webhook_triggered',
            webhookEventId: '1',
            metadata: { webhook: 'wh_live2' },
            tenantId: 'live-tenant',
            eventType: 'opened',
            entityType: 'issue',
            entityId: '1',
            deliveryId: 'live',
          },
        },
      ],
    );
    const got = await store.getDelivery('dlv_live_big');
    expect(Buffer.from(got!.body).equals(body)).toBe(true);
    const claimed = await store.claimDue(new Date(Date.now() + 1000), 10, 30_000);
    expect(claimed.map((t) => t.id)).toContain('task_live');
    await store.complete('task_live');
    expect((await store.outboxStats(new Date())).pending).toBe(0);
  }, 300_000);
});
