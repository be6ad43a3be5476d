import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { DeliveryRecord, NewOutboxTask, WebhookRegistration } from '@webhooks/core';
import { createAesGcmSecretBox, MemorySyncQueue, WebhookManagementService } from '@webhooks/service';
import { HOSTILE_IDS } from '@webhooks/testkit';
import { signGitHub } from '@webhooks/verifiers';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS, migrate } from './schema.js';
import { CLAIM_DEDUPE_KEY_SQL, SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';

const secretBox = createAesGcmSecretBox('sqlite store test key');
const T0 = Date.UTC(2026, 5, 1, 12, 0, 0, 123);
const SECRET = 'whsec_PLAINTEXT-must-never-be-stored-7f3a9c';
const PREVIOUS = 'whsec_PREVIOUS-must-never-be-stored-2b8e1d';

let dir: string;
const open: SqliteStore[] = [];

function openStore(options: Partial<SqliteStoreOptions> = {}): SqliteStore {
  const store = new SqliteStore({ dataDir: dir, secretBox, pruneIntervalMs: 0, ...options });
  open.push(store);
  return store;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'store-sqlite-test-'));
});
afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function registration(id: string, overrides: Partial<WebhookRegistration> = {}): WebhookRegistration {
  return {
    id,
    tenantId: 'tenant-1',
    integrationId: 'github',
    connectionId: 'conn-1',
    webhookUrl: `https://hooks.example.com/webhooks/${id}`,
    webhookSecret: SECRET,
    previousSecrets: [{ secret: PREVIOUS, expiresAt: new Date(T0 + 86_400_000) }],
    events: ['issue.*'],
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
    headers: { 'x-github-event': 'issues' },
    body: new TextEncoder().encode('{"action":"opened"}'),
    outcome: 'accepted',
    events: [{ eventType: 'opened', entityType: 'issue', entityId: '1' }],
    dedupeKeys: ['id:d-1'],
    syncTriggered: true,
    ...overrides,
  };
}

function task(id: string, overrides: Partial<NewOutboxTask> = {}): NewOutboxTask {
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
    ...overrides,
  };
}

describe('SqliteStore survives a restart', () => {
  it('write, close, reopen, read back: registration, counters, deliveries, outbox, claims, API keys', async () => {
    const first = openStore();
    const created = await first.create(registration('wh_1'));
    await first.recordOutcome('wh_1', 'success', new Date(T0 + 5));
    expect(await first.claimDedupeKey('wh_1', 'id:d-1', 60_000, new Date(T0))).toBe('claimed');
    expect(await first.claimDedupeKey('wh_1', 'id:pending', 60_000, new Date(T0))).toBe('claimed');
    await first.append(delivery('dlv_1'), [task('task_1')], {
      keys: ['id:d-1'],
      expiresAt: new Date(T0 + 7 * 86_400_000),
    });
    await first.createApiKey({ id: 'key_1', tenantId: 'tenant-1', keyHash: 'a'.repeat(64), createdAt: new Date(T0) });
    await first.close();

    const second = openStore();
    expect(await second.get('wh_1')).toEqual(created);
    expect(await second.getCounters('wh_1')).toMatchObject({ processedEventCount: 1, lastEventAt: new Date(T0 + 5) });
    expect(await second.claimDedupeKey('wh_1', 'id:d-1', 60_000, new Date(T0 + 1000))).toBe('duplicate');
    expect(await second.claimDedupeKey('wh_1', 'id:pending', 60_000, new Date(T0 + 1000))).toBe('in_progress');
    // A pending claim whose holder died (here: closed) is taken again once its lease runs out.
    expect(await second.claimDedupeKey('wh_1', 'id:pending', 60_000, new Date(T0 + 60_000))).toBe('claimed');
    const stored = await second.getDelivery('dlv_1');
    expect({ ...stored, body: [...stored!.body] }).toEqual({ ...delivery('dlv_1'), body: [...delivery('dlv_1').body] });
    expect((await second.listOutbox()).map((t) => t.id)).toEqual(['task_1']);
    expect(await second.findApiKeyByHash('a'.repeat(64))).toMatchObject({ id: 'key_1' });
  });

  it('a 25 MB body is written, and read back byte for byte after a restart', { timeout: 60_000 }, async () => {
    const body = new Uint8Array(25 * 1024 * 1024);
    for (let i = 0; i < body.length; i += 997) body[i] = i % 251;
    const first = openStore();
    await first.append(delivery('dlv_big', { body }));
    await first.close();
    const got = await openStore().getDelivery('dlv_big');
    expect(got?.body.byteLength).toBe(body.byteLength);
    expect(Buffer.from(got!.body).equals(Buffer.from(body))).toBe(true);
  });

  it('appends promised before close are written before the file closes', async () => {
    const first = openStore();
    const pending = [first.append(delivery('dlv_a')), first.append(delivery('dlv_b'))];
    await first.close();
    await Promise.all(pending);
    expect((await openStore().listDeliveries('wh_1', 10)).map((d) => d.id).sort()).toEqual(['dlv_a', 'dlv_b']);
  });
});

describe('SqliteStore durability', () => {
  /** The prototype of the FileHandle the store syncs the WAL through. */
  async function fileHandlePrototype(): Promise<{ datasync(): Promise<void> }> {
    const { open: openFile } = await import('node:fs/promises');
    const handle = await openFile(join(dir, 'probe'), 'w');
    await handle.close();
    return Object.getPrototypeOf(handle) as { datasync(): Promise<void> };
  }

  it("'full': an append resolves only after the WAL is synced; appends committed meanwhile share the next sync", async () => {
    const proto = await fileHandlePrototype();
    const real = proto.datasync;
    const events: string[] = [];
    let release: (() => void) | undefined;
    proto.datasync = async function (this: unknown) {
      events.push('datasync');
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return real.call(this);
    };
    try {
      const store = openStore({ synchronous: 'full' });
      const first = store.append(delivery('dlv_d1')).then(() => events.push('first resolved'));
      await new Promise((resolve) => setTimeout(resolve, 20));
      // Committed and visible, but not acknowledged until the sync is done.
      expect(await store.getDelivery('dlv_d1')).not.toBeNull();
      expect(events).toEqual(['datasync']);
      const second = store.append(delivery('dlv_d2')).then(() => events.push('second resolved'));
      const third = store.append(delivery('dlv_d3')).then(() => events.push('third resolved'));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(events).toEqual(['datasync']);
      release?.();
      await first;
      await new Promise((resolve) => setTimeout(resolve, 20));
      // The second and third, committed while the first sync ran, wait for a sync of their own.
      expect([...events].sort()).toEqual(['datasync', 'datasync', 'first resolved']);
      release?.();
      await Promise.all([second, third]);
      expect(events.slice(-2)).toEqual(['second resolved', 'third resolved']);
      expect(events.filter((e) => e === 'datasync')).toHaveLength(2);
    } finally {
      proto.datasync = real;
    }
  });

  it("'full': a failed sync refuses the append, so nothing is acknowledged; the next one syncs again", async () => {
    const proto = await fileHandlePrototype();
    const real = proto.datasync;
    let fail = true;
    proto.datasync = async function (this: unknown) {
      if (fail) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      return real.call(this);
    };
    try {
      const store = openStore({ synchronous: 'full' });
      await expect(store.append(delivery('dlv_eio'))).rejects.toThrow('EIO');
      fail = false;
      await expect(store.append(delivery('dlv_ok'))).resolves.toBeUndefined();
    } finally {
      proto.datasync = real;
    }
  });

  it("'normal': appends never wait for a sync", async () => {
    const proto = await fileHandlePrototype();
    const real = proto.datasync;
    let calls = 0;
    proto.datasync = async function (this: unknown) {
      calls++;
      return real.call(this);
    };
    try {
      const store = openStore({ synchronous: 'normal' });
      await store.append(delivery('dlv_n1'));
      expect(calls).toBe(0);
    } finally {
      proto.datasync = real;
    }
  });
});

describe('SqliteStore keeps secrets sealed', () => {
  it('never writes a webhook secret or a previous secret in plain text', async () => {
    const store = openStore();
    await store.create(registration('wh_sealed'));
    // Rotate through update too: both paths seal.
    const current = await store.get('wh_sealed');
    await store.update({ ...current!, webhookSecret: `${SECRET}-rotated` });
    const files = [store.path, `${store.path}-wal`].filter(existsSync);
    const rawWhileOpen = Buffer.concat(files.map((f) => readFileSync(f)));
    await store.close();
    const rawAfterClose = readFileSync(store.path);
    for (const raw of [rawWhileOpen, rawAfterClose]) {
      expect(raw.includes(Buffer.from(SECRET))).toBe(false);
      expect(raw.includes(Buffer.from(PREVIOUS))).toBe(false);
    }
    // The file does hold the registration, so the search above looked in the right place.
    expect(rawAfterClose.includes(Buffer.from('https://hooks.example.com/webhooks/wh_sealed'))).toBe(true);

    const raw = new Database(store.path, { readonly: true });
    const row = raw
      .prepare('SELECT secret_sealed, previous_secrets_sealed, document FROM registrations')
      .get() as Record<string, string>;
    raw.close();
    expect(row.secret_sealed).toMatch(/^v1\./);
    expect(row.previous_secrets_sealed).toMatch(/^v1\./);
    expect(JSON.stringify(row)).not.toContain('whsec_');
    expect(secretBox.open(row.secret_sealed!)).toBe(`${SECRET}-rotated`);
  });

  it('a store opened with another key cannot read the secrets', async () => {
    await openStore().create(registration('wh_key'));
    const other = openStore({ secretBox: createAesGcmSecretBox('another key') });
    await expect(other.get('wh_key')).rejects.toThrow();
  });
});

describe('SqliteStore migrations', () => {
  it('opening twice (in turn and at once) applies each migration exactly once', async () => {
    await openStore().close();
    openStore();
    openStore();
    const raw = new Database(join(dir, 'webhooks.sqlite'), { readonly: true });
    const rows = raw.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
    const mode = raw.pragma('journal_mode', { simple: true });
    raw.close();
    expect(rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    expect(mode).toBe('wal');
  });

  it('brings a version 1 database forward: its claims, taken as final then, stay committed', async () => {
    const raw = new Database(join(dir, 'webhooks.sqlite'));
    migrate(raw, MIGRATIONS.slice(0, 1));
    raw
      .prepare('INSERT INTO dedupe_claims (registration_id, key, expires_at) VALUES (?, ?, ?)')
      .run('wh_1', 'id:old', T0 + 86_400_000);
    raw.close();
    const store = openStore();
    expect(await store.claimDedupeKey('wh_1', 'id:old', 60_000, new Date(T0))).toBe('duplicate');
    expect(await store.claimDedupeKey('wh_1', 'id:new', 60_000, new Date(T0))).toBe('claimed');
    expect(await store.claimDedupeKey('wh_1', 'id:new', 60_000, new Date(T0))).toBe('in_progress');
  });

  it('refuses a database written by a newer version of the package', async () => {
    await openStore().close();
    const raw = new Database(join(dir, 'webhooks.sqlite'));
    raw.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(999, 'future', T0);
    raw.close();
    expect(() => openStore()).toThrow(/schema is version 999/);
  });

  it('needs a secret box and a location', () => {
    expect(() => new SqliteStore({ secretBox } as SqliteStoreOptions)).toThrow(TypeError);
    expect(() => new SqliteStore({ path: ':memory:' } as SqliteStoreOptions)).toThrow(TypeError);
  });
});

describe('SqliteStore refuses ids that are not ours before any query', () => {
  it('answers not found for hostile ids even with the database closed, so no query ran', async () => {
    const store = openStore();
    await store.close();
    await expect(store.get('wh_valid')).rejects.toThrow();
    for (const id of HOSTILE_IDS) {
      expect(await store.get(id)).toBeNull();
      expect(await store.getDelivery(id)).toBeNull();
      expect(await store.listDeliveries(id, 10)).toEqual([]);
      expect(await store.getCounters(id)).toEqual({
        processedEventCount: 0,
        failureCount: 0,
        verificationFailureCount: 0,
      });
      await expect(store.delete(id)).resolves.toBeUndefined();
      await expect(store.recordOutcome(id, 'failure', new Date(T0))).resolves.toBeUndefined();
      await expect(store.releaseDedupeKey(id, 'k')).resolves.toBeUndefined();
      await expect(store.update(registration(id))).rejects.toMatchObject({ code: 'not_found' });
      await expect(store.create(registration(id))).rejects.toMatchObject({ code: 'invalid_request' });
      await expect(store.claimDedupeKey(id, 'k', 1000, new Date(T0))).rejects.toMatchObject({
        code: 'invalid_request',
      });
      await expect(store.append(delivery('dlv_x', { registrationId: id }))).rejects.toMatchObject({
        code: 'invalid_request',
      });
      await expect(store.append(delivery(id))).rejects.toMatchObject({ code: 'invalid_request' });
    }
  });

  it('a continuation token that is not ours is refused', async () => {
    const store = openStore();
    for (const token of ['garbage', "' OR 1=1 --", Buffer.from('[1,"../x"]').toString('base64url')]) {
      await expect(store.listRegistrations('tenant-1', { continuationToken: token })).rejects.toMatchObject({
        code: 'invalid_request',
      });
    }
  });
});

describe('SqliteStore under contention', () => {
  it('two stores on one file: one claim winner, counters add up, writes visible to both', async () => {
    const a = openStore();
    const b = openStore();
    await a.create(registration('wh_1'));
    const claims = await Promise.all(
      Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).claimDedupeKey('wh_1', 'id:shared', 60_000, new Date(T0))),
    );
    expect(claims.filter((c) => c === 'claimed')).toHaveLength(1);
    expect(claims.filter((c) => c === 'in_progress')).toHaveLength(99);
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).recordOutcome('wh_1', 'success', new Date(T0))),
    );
    expect((await a.getCounters('wh_1')).processedEventCount).toBe(100);
    expect((await b.get('wh_1'))?.id).toBe('wh_1');
    const current = await b.get('wh_1');
    await b.update({ ...current!, status: 'failed' }, { ifMatch: current!.etag! });
    await expect(a.update({ ...current!, status: 'inactive' }, { ifMatch: current!.etag! })).rejects.toMatchObject({
      code: 'conflict',
    });
  });

  it('four threads with their own connections racing for the same keys: exactly one winner per key', {
    timeout: 60_000,
  }, async () => {
    openStore(); // creates and migrates the file
    const path = join(dir, 'webhooks.sqlite');
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    // Each worker runs the store's own claim statement on its own connection, so the race is real:
    // four OS threads contending for SQLite's write lock, not calls serialised by one event loop.
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      const Database = require(workerData.driver);
      const db = new Database(workerData.path);
      db.pragma('busy_timeout = 10000');
      const claim = db.prepare(workerData.sql);
      const won = [];
      for (let i = 0; i < workerData.keys; i++) {
        const r = claim.run({ registrationId: 'wh_1', key: 'id:' + i, expiresAt: workerData.now + 60000, now: workerData.now });
        if (r.changes === 1) won.push(i);
      }
      db.close();
      parentPort.postMessage(won);
    `;
    const keys = 300;
    const results = await Promise.all(
      Array.from(
        { length: 4 },
        () =>
          new Promise<number[]>((resolve, reject) => {
            const worker = new Worker(source, {
              eval: true,
              workerData: { driver, path, sql: CLAIM_DEDUPE_KEY_SQL, keys, now: T0 },
            });
            worker.once('message', resolve);
            worker.once('error', reject);
          }),
      ),
    );
    const all = results.flat();
    expect(all).toHaveLength(keys);
    expect(new Set(all).size).toBe(keys);
  });

  it('fresh appends sharing a group commit are counted with one UPDATE per registration, each answered counted', async () => {
    const store = openStore({ synchronous: 'normal' });
    await store.create(registration('wh_1'));
    await store.create(registration('wh_2'));
    const fresh = (key: string, at: number) => ({
      commit: { keys: [key], expiresAt: new Date(T0 + 86_400_000) },
      now: new Date(at),
      countSuccess: true,
    });
    // One turn of the event loop: one batch. Two registrations, an unknown one, and a conflict.
    const results = await Promise.all([
      ...Array.from({ length: 5 }, (_, i) =>
        store.appendFresh(delivery(`dlv_a${i}`, { dedupeKeys: [`id:a${i}`] }), [], fresh(`id:a${i}`, T0 + i)),
      ),
      store.appendFresh(delivery('dlv_b0', { registrationId: 'wh_2' }), [], fresh('id:b0', T0 + 9)),
      store.appendFresh(delivery('dlv_x0', { registrationId: 'wh_unknown' }), [], fresh('id:x0', T0)),
      store.appendFresh(delivery('dlv_a0again', { dedupeKeys: ['id:a0'] }), [], fresh('id:a0', T0 + 20)),
    ]);
    expect(results.map((r) => `${r.status}:${r.counted}`)).toEqual([
      ...Array.from({ length: 5 }, () => 'stored:true'),
      'stored:true',
      'stored:false',
      'conflict:false',
    ]);
    expect(await store.getCounters('wh_1')).toMatchObject({ processedEventCount: 5, lastEventAt: new Date(T0 + 4) });
    expect(await store.getCounters('wh_2')).toMatchObject({ processedEventCount: 1, lastEventAt: new Date(T0 + 9) });
  });

  it('a bad append in a group commit fails alone; its neighbours are stored', async () => {
    const store = openStore();
    const broken = task('task_bad', { maxAttempts: undefined as unknown as number });
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => store.append(delivery(`dlv_${i}`), [i === 4 ? broken : task(`task_${i}`)])),
    );
    expect(results.map((r) => r.status)).toEqual(
      Array.from({ length: 10 }, (_, i) => (i === 4 ? 'rejected' : 'fulfilled')),
    );
    expect(await store.getDelivery('dlv_4')).toBeNull();
    expect((await store.listDeliveries('wh_1', 100)).length).toBe(9);
    expect((await store.listOutbox()).length).toBe(9);
  });
});

describe('SqliteStore pruneExpired', () => {
  it('deletes expired dedupe claims only, and trims deliveries beyond keepDeliveries', async () => {
    const store = openStore({ keepDeliveries: 3 });
    for (let i = 0; i < 12_000; i += 1000) await store.claimDedupeKey('wh_1', `id:${i}`, i, new Date(T0));
    for (let i = 0; i < 5; i++) await store.append(delivery(`dlv_${i}`, { receivedAt: new Date(T0 + i) }));
    await store.append(delivery('dlv_rejected', { outcome: 'rejected' }));
    const result = store.pruneExpired(new Date(T0 + 5000));
    expect(result).toEqual({ dedupeClaims: 6, deliveries: 2 });
    expect(await store.claimDedupeKey('wh_1', 'id:6000', 1000, new Date(T0 + 5000))).toBe('in_progress');
    expect(await store.claimDedupeKey('wh_1', 'id:0', 1000, new Date(T0 + 5000))).toBe('claimed');
    expect((await store.listDeliveries('wh_1', 10)).map((d) => d.id)).toEqual([
      'dlv_4',
      'dlv_3',
      'dlv_2',
      'dlv_rejected',
    ]);
  });

  it('uses the injected clock when given no time', async () => {
    let now = T0;
    const store = openStore({ clock: { now: () => now } });
    await store.claimDedupeKey('wh_1', 'id:a', 1000, new Date(T0));
    expect(store.pruneExpired().dedupeClaims).toBe(0);
    now = T0 + 1000;
    expect(store.pruneExpired().dedupeClaims).toBe(1);
  });
});

describe('WebhookManagementService over SqliteStore', () => {
  it('accepts a signed GitHub delivery once, answers the repeat as a duplicate, and keeps both after a restart', async () => {
    const store = openStore();
    const queue = new MemorySyncQueue();
    const service = new WebhookManagementService({
      registrations: store,
      deliveries: store,
      outbox: store,
      queue,
      publicBaseUrl: 'https://hooks.example.com',
    });
    const { registration: created } = await service.registerWebhook('tenant-1', 'github', 'conn-1', ['issue.*']);
    const body = JSON.stringify({ action: 'opened', issue: { id: 42, number: 1, title: 'ünïcødé 🚀' } });
    const headers = signGitHub({ body, secret: created.webhookSecret, deliveryId: 'd-42', event: 'issues' });
    const first = await service.processWebhookEvent(created.id, headers, body);
    expect(first).toMatchObject({ status: 200, success: true, syncTriggered: true, duplicate: false });
    const again = await service.processWebhookEvent(created.id, headers, body);
    expect(again).toMatchObject({ status: 200, duplicate: true });
    expect(queue.messages).toHaveLength(1);
    await store.close();

    const reopened = openStore();
    const deliveries = await reopened.listDeliveries(created.id, 10);
    expect(deliveries.map((d) => d.outcome)).toEqual(['duplicate', 'accepted']);
    expect(new TextDecoder().decode(deliveries[1]!.body)).toBe(body);
    expect((await reopened.getCounters(created.id)).processedEventCount).toBe(1);
    expect((await reopened.get(created.id))?.webhookSecret).toBe(created.webhookSecret);
  });
});
