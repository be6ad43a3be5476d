// SqliteStore on a file in a temporary directory (WAL), against dist: deduped delivery writes/s
// (claimDedupeKey + append of a 1 KB delivery with one outbox task) beside a bare better-sqlite3
// INSERT of the same row in the same run, for each durability setting and for 1 and 64 writers in
// flight; then the store operations one receive costs on a registration-cache hit, counted through
// a Proxy around the store while WebhookManagementService.processWebhookEvent runs.
// Run with `pnpm --filter @webhooks/store-sqlite bench` (after `pnpm turbo run build --filter @webhooks/store-sqlite...`).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAesGcmSecretBox, MemorySyncQueue, WebhookManagementService } from '@webhooks/service';
import { signGitHub } from '@webhooks/verifiers';
import Database from 'better-sqlite3';
import { SqliteStore } from '../dist/index.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 1000);
const secretBox = createAesGcmSecretBox(randomBytes(32));
const dirs = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'store-sqlite-bench-'));
  dirs.push(dir);
  return dir;
};

/** Median rate over ROUNDS rounds of `fn(i)` run `concurrency` at a time. */
async function measure(fn, concurrency = 1) {
  let n = 0;
  const batch = async () => {
    const all = [];
    for (let c = 0; c < concurrency; c++) all.push(fn(n++));
    await Promise.all(all);
  };
  for (let i = 0; i < 20; i++) await batch();
  const rates = [];
  for (let round = 0; round < ROUNDS; round++) {
    let ops = 0;
    const start = process.hrtime.bigint();
    const deadline = start + BigInt(ROUND_MS) * 1_000_000n;
    let t = start;
    while (t < deadline) {
      await batch();
      ops += concurrency;
      t = process.hrtime.bigint();
    }
    rates.push(ops / (Number(t - start) / 1e9));
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)];
}

const payload = { action: 'opened', issue: { id: 1234567, number: 123, title: 'Bug: Login fails on mobile' }, pad: '' };
payload.pad = 'x'.repeat(1024 - JSON.stringify(payload).length);
const body = Buffer.from(JSON.stringify(payload));
const T0 = Date.now();

function record(i) {
  return {
    id: `dlv_bench_${i}`,
    registrationId: 'wh_bench',
    tenantId: 'tenant-1',
    receivedAt: new Date(T0 + i),
    headers: { 'content-type': 'application/json', 'x-github-event': 'issues', 'x-github-delivery': `delivery-${i}` },
    body,
    outcome: 'accepted',
    events: [{ eventType: 'opened', entityType: 'issue', entityId: '1234567', deliveryId: `delivery-${i}` }],
    dedupeKeys: [`id:delivery-${i}`],
    syncTriggered: true,
    durationMs: 0.1,
  };
}

function outboxTask(i) {
  return {
    id: `msg_bench_${i}`,
    messageId: `msg_bench_${i}`,
    availableAt: new Date(T0 + i),
    leasedUntil: new Date(T0 + i + 30_000),
    maxAttempts: 6,
    task: {
      integrationId: 'github',
      connectionId: 'conn-1',
      syncType: 'webhook_triggered',
      webhookEventId: '1234567',
      metadata: { webhook: 'wh_bench', delivery: `dlv_bench_${i}` },
      tenantId: 'tenant-1',
      eventType: 'opened',
      entityType: 'issue',
      entityId: '1234567',
      deliveryId: `delivery-${i}`,
    },
  };
}

async function dedupedWrites(synchronous, concurrency, oneWrite) {
  const store = new SqliteStore({ dataDir: tempDir(), secretBox, synchronous, pruneIntervalMs: 0 });
  let duplicates = 0;
  const rate = await measure(async (i) => {
    const key = `id:delivery-${i}`;
    const commit = { keys: [key], expiresAt: new Date(T0 + i + 7 * 86_400_000) };
    if (oneWrite) {
      const fresh = { commit, now: new Date(T0 + i), countSuccess: true };
      if ((await store.appendFresh(record(i), [outboxTask(i)], fresh)).status !== 'stored') duplicates++;
      return;
    }
    if ((await store.claimDedupeKey('wh_bench', key, 60_000, new Date(T0 + i))) !== 'claimed') duplicates++;
    await store.append(record(i), [outboxTask(i)], commit);
  }, concurrency);
  await store.close();
  if (duplicates > 0) throw new Error(`${duplicates} fresh keys were taken for duplicates`);
  return rate;
}

/** The same delivery row, inserted by a bare prepared statement (one autocommit per row), same pragmas. */
async function bareInsert(synchronous) {
  const path = join(tempDir(), 'bare.sqlite');
  new SqliteStore({ path, secretBox, pruneIntervalMs: 0 }).close();
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  const insert = db.prepare(
    `INSERT INTO deliveries (id, registration_id, tenant_id, received_at, outcome, headers, body, details)
     VALUES (@id, @registration_id, @tenant_id, @received_at, @outcome, @headers, @body, @details)`,
  );
  const rate = await measure(async (i) => {
    const r = record(i);
    insert.run({
      id: r.id,
      registration_id: r.registrationId,
      tenant_id: r.tenantId,
      received_at: r.receivedAt.getTime(),
      outcome: r.outcome,
      headers: JSON.stringify(r.headers),
      body: r.body,
      details: JSON.stringify({ events: r.events, dedupeKeys: r.dedupeKeys, syncTriggered: true, durationMs: 0.1 }),
    });
  });
  db.close();
  return rate;
}

const READS = new Set([
  'get',
  'getCounters',
  'listRegistrations',
  'counts',
  'getDelivery',
  'listDeliveries',
  'listOutbox',
  'outboxStats',
  'findApiKeyByHash',
  'listApiKeys',
]);

/** Counts every store call by name while `processWebhookEvent` runs on a warm registration cache. */
async function operationsPerReceive({ withQueue, inFlight }) {
  const store = new SqliteStore({ dataDir: tempDir(), secretBox, pruneIntervalMs: 0 });
  const calls = new Map();
  let counting = false;
  const counted = new Proxy(store, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args) => {
        if (counting) calls.set(property, (calls.get(property) ?? 0) + 1);
        return value.apply(target, args);
      };
    },
  });
  const queue = new MemorySyncQueue();
  queue.enqueue = async () => {};
  const service = new WebhookManagementService({
    registrations: counted,
    deliveries: counted,
    outbox: counted,
    ...(withQueue ? { queue } : {}),
    publicBaseUrl: 'https://hooks.example.com',
    rateLimit: { perMinute: 1e12, floodPerMinute: 1e12 },
  });
  const { registration } = await service.registerWebhook('tenant-1', 'github', 'conn-1', ['issue.*']);
  const signed = signGitHub({ body, secret: registration.webhookSecret, event: 'issues' });
  const headersFor = (i) => ({ ...signed, 'x-github-delivery': `receive-${i}`, 'content-type': 'application/json' });
  // Warm-up: the first verified event activates the registration and refills the cache.
  for (let i = 0; i < 5; i++) await service.processWebhookEvent(registration.id, headersFor(`warm-${i}`), body);
  await service.settle();
  const N = 640;
  counting = true;
  for (let i = 0; i < N; i += inFlight) {
    const results = await Promise.all(
      Array.from({ length: inFlight }, (_, j) => service.processWebhookEvent(registration.id, headersFor(i + j), body)),
    );
    const refused = results.find((r) => r.status !== 200);
    if (refused) throw new Error(`a receive answered ${refused.status}`);
  }
  // The batched completions (with a queue) land on the next turns of the event loop.
  await service.settle();
  counting = false;
  const receives = await measure(async (i) => {
    const result = await service.processWebhookEvent(registration.id, headersFor(`rate-${i}`), body);
    if (result.status !== 200) throw new Error(`receive answered ${result.status}`);
  });
  await service.settle();
  await store.close();
  const perReceive = [...calls].map(([name, count]) => ({
    name,
    kind: READS.has(name) ? 'read' : 'write',
    perReceive: count / N,
  }));
  return { perReceive, receives };
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
console.log(
  `\n@webhooks/store-sqlite, 1 KB GitHub delivery, WAL, file in ${tmpdir()}, Node ${process.version}, one core`,
);
console.log(`median of ${ROUNDS} rounds of ${ROUND_MS} ms\n`);
console.log('| what | synchronous | writers in flight | per second |');
console.log('|---|---|---:|---:|');
const rows = [];
for (const synchronous of ['full', 'normal']) {
  rows.push([`bare INSERT of the delivery row (autocommit)`, synchronous, 1, await bareInsert(synchronous)]);
  for (const concurrency of [1, 64]) {
    rows.push([
      `deduped write, two-phase: claimDedupeKey + append(delivery, 1 task, commit)`,
      synchronous,
      concurrency,
      await dedupedWrites(synchronous, concurrency, false),
    ]);
    rows.push([
      `deduped write, one write: appendFresh(delivery, 1 task, claim, count)`,
      synchronous,
      concurrency,
      await dedupedWrites(synchronous, concurrency, true),
    ]);
  }
}
for (const [what, synchronous, concurrency, rate] of rows)
  console.log(`| ${what} | ${synchronous} | ${concurrency} | ${fmt(rate)} |`);

let writesPerReceive = 0;
for (const [label, setup] of [
  ['embedded queue (the default), one receive at a time', { withQueue: false, inFlight: 1 }],
  ['a SyncQueue, one receive at a time', { withQueue: true, inFlight: 1 }],
  ['a SyncQueue, 64 receives in flight', { withQueue: true, inFlight: 64 }],
]) {
  const { perReceive, receives } = await operationsPerReceive(setup);
  const reads = perReceive.filter((o) => o.kind === 'read').reduce((s, o) => s + o.perReceive, 0);
  const writes = perReceive.filter((o) => o.kind === 'write').reduce((s, o) => s + o.perReceive, 0);
  if (!setup.withQueue) writesPerReceive = writes;
  console.log(
    `\nstore operations per receive, registration cache hit, GitHub delivery that triggers a sync, ${label} (synchronous=full):\n`,
  );
  console.log('| operation | kind | per receive |');
  console.log('|---|---|---:|');
  for (const o of perReceive) console.log(`| ${String(o.name)} | ${o.kind} | ${o.perReceive} |`);
  console.log(`| **total** | reads ${reads}, writes ${writes} | ${reads + writes} |`);
  console.log(`\nprocessWebhookEvent over SqliteStore (synchronous=full, one at a time): ${fmt(receives)} receives/s`);
}
const best = Math.max(...rows.filter((r) => r[0].startsWith('deduped')).map((r) => r[3]));
console.log(
  `deduped delivery writes: best ${fmt(best)}/s (goal >= 10,000); writes per receive on the embedded default: ${writesPerReceive} (goal: 1)`,
);
for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
