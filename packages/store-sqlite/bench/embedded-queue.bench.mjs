// The embedded queue (no SyncQueue: the outbox IS the queue), against dist, on files in a temporary
// directory: tasks/s to ENQUEUE (WebhookManagementService.processWebhookEvent writing each 1 KB
// GitHub delivery with its one sync task into the outbox, one request at a time and 64 in flight)
// and to DISPATCH (createEmbeddedWorker with a no-op handler draining N tasks, rounds of 100),
// for SqliteStore at both durability settings, beside MemoryStore as the baseline in the same run.
// Median of BENCH_ROUNDS runs of BENCH_TASKS tasks (defaults 3 and 5000), each on a fresh store.
// Run with `pnpm --filter @webhooks/store-sqlite bench` (after `pnpm turbo run build --filter @webhooks/store-sqlite...`).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAesGcmSecretBox, createEmbeddedWorker, MemoryStore, WebhookManagementService } from '@webhooks/service';
import { signGitHub } from '@webhooks/verifiers';
import { SqliteStore } from '../dist/index.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TASKS = Number(process.env.BENCH_TASKS ?? 5000);
const secretBox = createAesGcmSecretBox(randomBytes(32));
const dirs = [];

const stores = {
  'MemoryStore (baseline)': () => new MemoryStore({ keepDeliveries: 1000 }),
  'SqliteStore synchronous=full': () => {
    const dir = mkdtempSync(join(tmpdir(), 'embedded-queue-bench-'));
    dirs.push(dir);
    return new SqliteStore({ dataDir: dir, secretBox, synchronous: 'full', pruneIntervalMs: 0 });
  },
  'SqliteStore synchronous=normal': () => {
    const dir = mkdtempSync(join(tmpdir(), 'embedded-queue-bench-'));
    dirs.push(dir);
    return new SqliteStore({ dataDir: dir, secretBox, synchronous: 'normal', pruneIntervalMs: 0 });
  },
};

const payload = { action: 'opened', issue: { id: 1234567, number: 123, title: 'Bug: Login fails on mobile' }, pad: '' };
payload.pad = 'x'.repeat(1024 - JSON.stringify(payload).length);

/** One fresh store with TASKS deliveries written through the receive path; returns enqueue tasks/s. */
async function enqueue(store, concurrency) {
  const service = new WebhookManagementService({
    registrations: store,
    deliveries: store,
    outbox: store,
    publicBaseUrl: 'https://hooks.example.com',
    rateLimit: { perMinute: 1e12, floodPerMinute: 1e12 },
  });
  const { registration } = await service.registerWebhook('tenant-1', 'github', 'conn-1', ['issue.*']);
  const requests = Array.from({ length: TASKS }, (_, i) => {
    const body = Buffer.from(JSON.stringify({ ...payload, issue: { ...payload.issue, id: i } }));
    const headers = {
      ...signGitHub({ body, secret: registration.webhookSecret, deliveryId: `delivery-${i}`, event: 'issues' }),
      'content-type': 'application/json',
    };
    return { headers, body };
  });
  let next = 0;
  let failures = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < TASKS) {
        const { headers, body } = requests[next++];
        const result = await service.processWebhookEvent(registration.id, headers, body);
        if (result.status !== 200 || !result.syncTriggered) failures++;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (failures > 0) throw new Error(`${failures} deliveries were not accepted with a task`);
  return TASKS / seconds;
}

/** Drains the store's outbox with a no-op handler; returns dispatch tasks/s. */
async function dispatch(store) {
  let handled = 0;
  const worker = createEmbeddedWorker({
    outbox: store,
    batchSize: 100,
    handler: async () => {
      handled++;
    },
  });
  const started = process.hrtime.bigint();
  for (;;) {
    const round = await worker.runOnce();
    if (round.claimed === 0) break;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (handled !== TASKS) throw new Error(`handled ${handled} of ${TASKS} tasks`);
  return TASKS / seconds;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const fmt = (rate) => Math.round(rate).toLocaleString('en-US');

const rows = [];
try {
  for (const [name, open] of Object.entries(stores)) {
    const results = { serial: [], parallel: [], dispatch: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const [key, concurrency] of [
        ['serial', 1],
        ['parallel', 64],
      ]) {
        const store = open();
        results[key].push(await enqueue(store, concurrency));
        // Drain what the 64-in-flight run enqueued (the serial run's store is simply dropped).
        if (key === 'parallel') results.dispatch.push(await dispatch(store));
        await store.close?.();
      }
    }
    rows.push([name, median(results.serial), median(results.parallel), median(results.dispatch)]);
  }
} finally {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}

console.log(
  `\nembedded queue: ${TASKS} tasks (one per 1 KB GitHub delivery), Node ${process.version}, median of ${ROUNDS} runs\n`,
);
console.log(
  '| store | enqueue, 1 in flight (tasks/s) | enqueue, 64 in flight (tasks/s) | dispatch, no-op handler (tasks/s) |',
);
console.log('|---|---:|---:|---:|');
for (const [name, serial, parallel, drained] of rows) {
  console.log(`| ${name} | ${fmt(serial)} | ${fmt(parallel)} | ${fmt(drained)} |`);
}
