// Load and soak: a closed-loop generator on loopback drives the built receiver (a child process) on
// the embedded default (SQLite + the embedded queue) and on Redis + the Cosmos DB test server + the
// Service Bus test broker. Figures: throughput, p50/p99, errors, RSS of the receiver before and after
// the soak. Every acknowledged delivery must be in the queue exactly once. The machine has 2 cores,
// shared by the receiver, the generator and (in CI) the other test files: figures are for trend, the
// assertions are on correctness and on gross memory growth only.
import { randomUUID } from 'node:crypto';
import { startServiceBusTestBroker } from '@webhooks/testkit';
import { afterEach, describe, expect, test } from 'vitest';
import { embeddedTasks, type Registered, registerWebhook } from '../src/admin.js';
import { report } from '../src/figures.js';
import {
  COSMOS_KEY,
  CosmosProcess,
  cleanup,
  LONG,
  onCleanup,
  Receiver,
  RedisProcess,
  scale,
  sleep,
  type Tenant,
} from '../src/harness.js';
import { acknowledged, closedLoop, countBy, type Run, round, type Shot, sendGitHub, summarize } from '../src/load.js';

const SECRET_KEY = 'cd'.repeat(32);
const QUEUE = 'sync-tasks';
const HIGH_LIMITS = { WEBHOOKS_RATE_LIMIT_PER_MINUTE: '10000000', WEBHOOKS_FLOOD_LIMIT_PER_MINUTE: '10000000' };

afterEach(cleanup);

function tenants(count: number): Tenant[] {
  return Array.from({ length: count }, (_, i) => ({ tenantId: `load-${i}`, key: `load-key-${i}-${'x'.repeat(24)}` }));
}

interface Soak {
  warmup: Run;
  soak: Run;
  rssMb: number[];
}

/**
 * Warm-up, then `phases` soak phases of `phaseMs` each, sampling RSS after the warm-up and after
 * each phase. Deliveries go round-robin over the registrations; at most `cap` in all.
 */
async function soak(
  receiver: Receiver,
  registrations: Registered[],
  options: { concurrency: number; warmupMs: number; phaseMs: number; phases: number; cap: number },
): Promise<Soak> {
  let n = 0;
  const one = () => {
    const i = n++;
    return sendGitHub(receiver.url, registrations[i % registrations.length]!, i);
  };
  const warmup = await closedLoop({ concurrency: options.concurrency, durationMs: options.warmupMs }, one);
  await sleep(500);
  const rssMb = [receiver.rssMb()];
  const shots: Shot[] = [];
  const started = performance.now();
  for (let phase = 0; phase < options.phases; phase++) {
    const run = await closedLoop(
      { concurrency: options.concurrency, durationMs: options.phaseMs, stop: () => n >= options.cap },
      one,
    );
    shots.push(...run.shots);
    rssMb.push(receiver.rssMb());
  }
  return { warmup, soak: { shots, wallMs: performance.now() - started }, rssMb };
}

function rssFigures(rssMb: number[]) {
  const half = Math.ceil(rssMb.length / 2);
  return {
    rssBeforeMb: round(rssMb[0]!, 1),
    rssAfterMb: round(rssMb.at(-1)!, 1),
    rssMaxFirstHalfMb: round(Math.max(...rssMb.slice(0, half)), 1),
    rssMaxSecondHalfMb: round(Math.max(...rssMb.slice(half)), 1),
  };
}

/**
 * The short form (CI) is seconds long: heaps still settle, so it only guards against a gross leak.
 * The long form soaks for minutes: the second half's peak RSS stays within 48 MB of the first half's
 * (GC and caches move RSS by tens of MB; a leak of a few KB per request does not stay under it).
 */
function expectNoGrowth(rss: ReturnType<typeof rssFigures>): void {
  if (LONG) expect(rss.rssMaxSecondHalfMb - rss.rssMaxFirstHalfMb).toBeLessThan(48);
  else expect(rss.rssAfterMb - rss.rssBeforeMb).toBeLessThan(160);
}

describe('load and soak', () => {
  test('embedded default (SQLite + embedded queue): every acknowledged delivery is one sync task; RSS does not grow', async () => {
    // The embedded queue is counted per tenant through GET /sync-tasks (1000 at most): at ~3 000/s
    // (short) and 120 s (long), enough tenants that none reaches it.
    const fleet = tenants(scale(64, 600));
    const receiver = await Receiver.start({ tenants: fleet, env: HIGH_LIMITS, logLevel: 'info' });
    const registrations: Registered[] = [];
    for (const tenant of fleet) registrations.push(await registerWebhook(receiver.url, tenant.key));

    const result = await soak(receiver, registrations, {
      concurrency: 16,
      warmupMs: scale(1500, 5000),
      phaseMs: scale(2500, 10_000),
      phases: scale(4, 12),
      cap: fleet.length * 990,
    });

    // Exactly one sync task per acknowledged delivery, none for anything else.
    const all = [...result.warmup.shots, ...result.soak.shots];
    const tasks = [];
    for (const tenant of fleet) tasks.push(...(await embeddedTasks(receiver.url, tenant.key)));
    const byDelivery = countBy(tasks, (t) => t.task.deliveryId ?? '');
    const acked = all.filter(acknowledged);
    const lost = acked.filter((s) => !byDelivery.has(s.deliveryId)).length;
    const duplicated = [...byDelivery.values()].filter((c) => c > 1).length;
    const sent = new Set(all.map((s) => s.deliveryId));
    const stray = [...byDelivery.keys()].filter((id) => !sent.has(id)).length;

    const summary = summarize(result.soak);
    const rss = rssFigures(result.rssMb);
    report(`load: embedded (SQLite + embedded queue), closed loop x16, ${fleet.length} tenants`, {
      seconds: round(result.soak.wallMs / 1000, 1),
      requests: summary.requests,
      throughputPerSec: summary.throughput,
      p50Ms: summary.p50,
      p99Ms: summary.p99,
      errors: summary.errors,
      ...rss,
      rssSamplesMb: result.rssMb.map((r) => round(r, 0)).join('/'),
      acknowledged: acked.length,
      syncTasks: tasks.length,
      lost,
      duplicated,
    });
    expect(summary.errors, JSON.stringify(summary.statuses)).toBe(0);
    expect(lost).toBe(0);
    expect(duplicated).toBe(0);
    expect(stray).toBe(0);
    expect(tasks.length).toBe(acked.length);
    expectNoGrowth(rss);
  }, 240_000);

  test.each([
    ['Cosmos DB test server + Service Bus test broker', false],
    ['Redis + Cosmos DB test server + Service Bus test broker', true],
  ])(
    '%s: every acknowledged delivery reaches the queue once',
    async (stack, withRedis) => {
      const redis = withRedis ? await RedisProcess.start() : undefined;
      const cosmos = await CosmosProcess.start();
      const broker = await startServiceBusTestBroker({ queues: [QUEUE], requiresDuplicateDetection: true });
      onCleanup(() => broker.close());
      const fleet = tenants(2);
      const receiver = await Receiver.start({
        tenants: fleet,
        secretKey: SECRET_KEY,
        logLevel: 'info',
        env: {
          ...HIGH_LIMITS,
          ...(redis ? { REDIS_URL: redis.url } : {}),
          COSMOS_ENDPOINT: cosmos.endpoint,
          COSMOS_KEY,
          COSMOS_DATABASE: `load-${randomUUID().slice(0, 8)}`,
          // The Cosmos DB test server's certificate is self-signed (so is the emulator's).
          NODE_TLS_REJECT_UNAUTHORIZED: '0',
          SERVICEBUS_CONNECTION_STRING: broker.connectionString,
          SERVICEBUS_QUEUE: QUEUE,
          WEBHOOKS_DISPATCH_BACKOFF_SECONDS: '1',
        },
      });
      const registrations: Registered[] = [];
      for (const tenant of fleet) registrations.push(await registerWebhook(receiver.url, tenant.key));

      const result = await soak(receiver, registrations, {
        concurrency: 16,
        warmupMs: scale(1500, 5000),
        phaseMs: scale(2500, 10_000),
        phases: scale(3, 12),
        cap: Number.POSITIVE_INFINITY,
      });
      const all = [...result.warmup.shots, ...result.soak.shots];
      const acked = all.filter(acknowledged);
      // 202s are in the outbox; wait (bounded) for the dispatcher to send them.
      const deadline = Date.now() + 60_000;
      for (;;) {
        const ids = new Set(broker.messages(QUEUE).map((m) => (m.body as { deliveryId: string }).deliveryId));
        if (acked.every((s) => ids.has(s.deliveryId)) || Date.now() > deadline) break;
        await sleep(250);
      }
      const messages = broker.messages(QUEUE);
      const byDelivery = countBy(messages, (m) => (m.body as { deliveryId: string }).deliveryId);
      const lost = acked.filter((s) => !byDelivery.has(s.deliveryId)).length;
      const duplicated = [...byDelivery.values()].filter((c) => c > 1).length;

      const summary = summarize(result.soak);
      const rss = rssFigures(result.rssMb);
      report(`load: ${stack}, closed loop x16`, {
        seconds: round(result.soak.wallMs / 1000, 1),
        requests: summary.requests,
        throughputPerSec: summary.throughput,
        p50Ms: summary.p50,
        p99Ms: summary.p99,
        errors: summary.errors,
        ...rss,
        rssSamplesMb: result.rssMb.map((r) => round(r, 0)).join('/'),
        acknowledged: acked.length,
        queued202: all.filter((s) => s.status === 202).length,
        messages: messages.length,
        lost,
        duplicated,
        brokerDuplicatesDropped: broker.stats().duplicatesDropped,
      });
      expect(summary.errors, JSON.stringify(summary.statuses)).toBe(0);
      expect(lost).toBe(0);
      expect(duplicated).toBe(0);
      expectNoGrowth(rss);
    },
    300_000,
  );
});
