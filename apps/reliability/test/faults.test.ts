// Faults under load, each judged by the sender's log of 2xx answers against what reached the queue:
// Redis SIGKILLed and restarted; the Service Bus test broker gone and back; the receiver SIGKILLed
// and restarted; the store failing (SQLite's files refuse writes, as on a full disk; the network to
// the Cosmos DB test server cut). A provider's retries are part of the load: every 8th request
// sends an earlier delivery again, and what got no answer or a 5xx is retried at the end.
// Pass: 0 acknowledged deliveries lost, 0 sync tasks duplicated, store errors answered 503 only.
import { randomUUID } from 'node:crypto';
import { type ServiceBusTestBroker, startServiceBusTestBroker } from '@webhooks/testkit';
import { afterEach, describe, expect, test } from 'vitest';
import { embeddedTasks, type Registered, registerWebhook } from '../src/admin.js';
import { report } from '../src/figures.js';
import {
  COSMOS_KEY,
  CosmosProcess,
  cleanup,
  freePort,
  limitFileSize,
  onCleanup,
  Receiver,
  RedisProcess,
  scale,
  sleep,
  TcpProxy,
  type Tenant,
} from '../src/harness.js';
import { acknowledged, closedLoop, countBy, resetAgents, round, type Shot, sendGitHub } from '../src/load.js';

const SECRET_KEY = 'ef'.repeat(32);
const QUEUE = 'sync-tasks';
const BASE_ENV = {
  WEBHOOKS_RATE_LIMIT_PER_MINUTE: '10000000',
  WEBHOOKS_FLOOD_LIMIT_PER_MINUTE: '10000000',
  WEBHOOKS_DISPATCH_BACKOFF_SECONDS: '1',
};
// The embedded queue is counted per tenant through GET /sync-tasks (1000 at most): enough tenants
// that none reaches it.
const TENANTS: Tenant[] = Array.from({ length: scale(16, 240) }, (_, i) => ({
  tenantId: `fault-${i}`,
  key: `fault-key-${i}-${'y'.repeat(24)}`,
}));

afterEach(async () => {
  resetAgents();
  await cleanup();
});

/**
 * A broker whose queue drops repeats by messageId, as the receiver's queue must. `after`, a broker
 * that went down: this one takes over its port and its duplicate-detection history, as a Service
 * Bus namespace keeps it across an outage (a send it accepted just before dropping, that the
 * receiver never heard back about, is sent again by the dispatcher and must be dropped).
 */
async function startBroker(after?: ServiceBusTestBroker): Promise<ServiceBusTestBroker> {
  const broker = await startServiceBusTestBroker({
    port: after?.port ?? 0,
    queues: [QUEUE],
    requiresDuplicateDetection: true,
    ...(after ? { duplicateHistory: after.duplicateHistory() } : {}),
  });
  onCleanup(() => broker.close());
  return broker;
}

/** Load with provider-style redeliveries, until `stop()`; `url()` may change its answer mid-run. */
class Sender {
  readonly shots: Shot[] = [];
  #n = 0;
  #stop = false;
  #running: Promise<unknown> | undefined;
  readonly #ids: string[] = [];

  constructor(
    private readonly url: string,
    private readonly registrations: Registered[],
  ) {}

  start(concurrency = 8): void {
    this.#running = closedLoop({ concurrency, stop: () => this.#stop }, (i) => this.one(i));
  }

  async one(i: number): Promise<Shot> {
    const n = this.#n++;
    // Every 8th request is a redelivery of an earlier one (same id, same body, same registration).
    const again = n % 8 === 7 && this.#ids.length > 0 ? Math.floor((i * 7919) % this.#ids.length) : -1;
    const index = again >= 0 ? again : this.#ids.length;
    if (again < 0) this.#ids.push(randomUUID());
    const shot = await sendGitHub(
      this.url,
      this.registrations[index % this.registrations.length]!,
      index,
      this.#ids[index],
      15_000,
    );
    this.shots.push(shot);
    // Refused or reset while the receiver is down: back off a little, as a provider would.
    if (shot.status === 0 || shot.status >= 500) await sleep(100);
    return shot;
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await this.#running;
  }

  /** Retries every delivery whose latest answer was not 2xx until each is acknowledged (bounded). */
  async retryUnacknowledged(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const latest = new Map<string, Shot>();
      for (const shot of this.shots)
        if (!latest.has(shot.deliveryId) || acknowledged(shot)) latest.set(shot.deliveryId, shot);
      const pending = [...latest.values()].filter((s) => !acknowledged(s));
      if (pending.length === 0) return;
      if (Date.now() > deadline) throw new Error(`${pending.length} deliveries still not acknowledged after retries`);
      const queue = [...pending];
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let shot = queue.pop(); shot; shot = queue.pop()) {
            const index = this.#ids.indexOf(shot.deliveryId);
            const registration = this.registrations[index % this.registrations.length]!;
            this.shots.push(await sendGitHub(this.url, registration, index, shot.deliveryId));
          }
        }),
      );
      await sleep(250);
    }
  }

  get acknowledgedIds(): Set<string> {
    return new Set(this.shots.filter(acknowledged).map((s) => s.deliveryId));
  }
}

interface Verdict {
  requests: number;
  acknowledged: number;
  errors: number;
  statuses: string;
  lost: number;
  duplicated: number;
  stray: number;
}

function judge(sender: Sender, deliveryIdsInQueue: string[]): Verdict {
  const byDelivery = countBy(deliveryIdsInQueue, (id) => id);
  const acked = sender.acknowledgedIds;
  const sent = new Set(sender.shots.map((s) => s.deliveryId));
  const statuses = countBy(sender.shots, (s) => String(s.status));
  return {
    requests: sender.shots.length,
    acknowledged: acked.size,
    errors: sender.shots.filter((s) => !acknowledged(s)).length,
    statuses: [...statuses.entries()].map(([k, v]) => `${k}:${v}`).join(','),
    lost: [...acked].filter((id) => !byDelivery.has(id)).length,
    duplicated: [...byDelivery.values()].filter((c) => c > 1).length,
    stray: [...byDelivery.keys()].filter((id) => !sent.has(id)).length,
  };
}

function expectExactlyOnce(verdict: Verdict): void {
  expect(verdict.lost, 'acknowledged deliveries missing from the queue').toBe(0);
  expect(verdict.duplicated, 'sync tasks in the queue twice').toBe(0);
  expect(verdict.stray, 'tasks for deliveries never sent').toBe(0);
}

async function registerAll(url: string): Promise<Registered[]> {
  const registrations: Registered[] = [];
  for (const tenant of TENANTS) registrations.push(await registerWebhook(url, tenant.key));
  return registrations;
}

async function allEmbeddedTaskIds(url: string): Promise<string[]> {
  const ids: string[] = [];
  for (const tenant of TENANTS) ids.push(...(await embeddedTasks(url, tenant.key)).map((t) => t.task.deliveryId ?? ''));
  return ids;
}

function brokerIds(broker: ServiceBusTestBroker): string[] {
  return broker.messages(QUEUE).map((m) => (m.body as { deliveryId: string }).deliveryId);
}

async function waitForQueue(ids: () => string[], expected: Set<string>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const arrived = new Set(ids());
    if ([...expected].every((id) => arrived.has(id)) || Date.now() > deadline) return;
    await sleep(250);
  }
}

const phase = (short: number, long: number) => scale(short, long);

describe('faults under load', () => {
  test('Redis SIGKILLed and restarted under load (SQLite + Redis + embedded queue)', async () => {
    const redis = await RedisProcess.start();
    const receiver = await Receiver.start({ tenants: TENANTS, env: { ...BASE_ENV, REDIS_URL: redis.url } });
    const sender = new Sender(receiver.url, await registerAll(receiver.url));
    sender.start();
    await sleep(phase(1500, 10_000));
    const atKill = sender.shots.length;
    await redis.kill();
    await sleep(phase(2000, 15_000));
    const duringOutage = sender.shots.slice(atKill);
    await redis.restart();
    await sleep(phase(2000, 10_000));
    await sender.stop();
    await sender.retryUnacknowledged();

    const verdict = judge(sender, await allEmbeddedTaskIds(receiver.url));
    const outageErrors = duringOutage.filter((s) => !acknowledged(s)).length;
    report('fault: Redis SIGKILLed and restarted under load', {
      ...verdict,
      requestsDuringOutage: duringOutage.length,
      errorsDuringOutage: outageErrors,
    });
    expectExactlyOnce(verdict);
    expect(duringOutage.length, 'load went on while Redis was down').toBeGreaterThan(0);
  }, 120_000);

  test('the Service Bus test broker down, then back, under load (SQLite + Service Bus)', async () => {
    const first = await startBroker();
    const receiver = await Receiver.start({
      tenants: TENANTS,
      env: { ...BASE_ENV, SERVICEBUS_CONNECTION_STRING: first.connectionString, SERVICEBUS_QUEUE: QUEUE },
    });
    const sender = new Sender(receiver.url, await registerAll(receiver.url));
    sender.start();
    await sleep(phase(1000, 10_000));
    const atDown = sender.shots.length;
    await first.close();
    await sleep(phase(1500, 15_000));
    const duringOutage = sender.shots.slice(atDown);
    const second = await startBroker(first);
    const back = Date.now();
    await sleep(phase(1000, 10_000));
    await sender.stop();
    await sender.retryUnacknowledged();
    await waitForQueue(() => [...brokerIds(first), ...brokerIds(second)], sender.acknowledgedIds);
    const drainedMs = Date.now() - back;

    const verdict = judge(sender, [...brokerIds(first), ...brokerIds(second)]);
    report('fault: Service Bus test broker down then back under load', {
      ...verdict,
      requestsDuringOutage: duringOutage.length,
      queued202DuringOutage: duringOutage.filter((s) => s.status === 202).length,
      errorsDuringOutage: duringOutage.filter((s) => !acknowledged(s)).length,
      maxLatencyDuringOutageMs: round(Math.max(...duringOutage.map((s) => s.ms)), 0),
      drainedAfterBackMs: drainedMs,
      brokerDuplicatesDropped: second.stats().duplicatesDropped,
    });
    expectExactlyOnce(verdict);
    // With the queue down the receiver still acknowledges: 202, kept in the durable outbox.
    expect(duringOutage.filter((s) => s.status === 202).length).toBeGreaterThan(0);
  }, 120_000);

  test('the receiver SIGKILLed and restarted under load (SQLite + embedded queue)', async () => {
    let receiver = await Receiver.start({ tenants: TENANTS, env: BASE_ENV });
    const sender = new Sender(receiver.url, await registerAll(receiver.url));
    sender.start();
    const kills = scale(2, 6);
    let unanswered = 0;
    for (let k = 0; k < kills; k++) {
      await sleep(phase(1200, 8000));
      const before = sender.shots.length;
      await receiver.sigkill();
      resetAgents();
      await sleep(300);
      receiver = await receiver.restart();
      unanswered += sender.shots.slice(before).filter((s) => s.status === 0).length;
    }
    await sleep(phase(1000, 8000));
    await sender.stop();
    await sender.retryUnacknowledged();

    const verdict = judge(sender, await allEmbeddedTaskIds(receiver.url));
    report('fault: receiver SIGKILLed and restarted under load', { ...verdict, kills, unanswered });
    expectExactlyOnce(verdict);
    expect(unanswered, 'requests were in flight at the kills').toBeGreaterThan(0);
  }, 150_000);

  test('the store refuses writes (SQLite files at RLIMIT_FSIZE 0, as a full disk): 503 only, nothing acknowledged lost', async () => {
    const receiver = await Receiver.start({ tenants: TENANTS, env: BASE_ENV });
    const sender = new Sender(receiver.url, await registerAll(receiver.url));
    sender.start();
    await sleep(phase(1000, 8000));
    limitFileSize(receiver.pid, 0);
    const limited = performance.now();
    await sleep(phase(1500, 10_000));
    limitFileSize(receiver.pid, null);
    const lifted = performance.now();
    await sleep(phase(1500, 8000));
    await sender.stop();
    // Answered after the limit took hold (a request whose commit was already written may still get 2xx).
    const during = sender.shots.filter((s) => s.at > limited + 200 && s.at + s.ms < lifted);
    const after = sender.shots.filter((s) => s.at > lifted + 1000);
    await sender.retryUnacknowledged();

    const verdict = judge(sender, await allEmbeddedTaskIds(receiver.url));
    const nonAckStatuses = new Set(sender.shots.filter((s) => !acknowledged(s)).map((s) => s.status));
    report('fault: SQLite store refuses writes (RLIMIT_FSIZE=0) under load', {
      ...verdict,
      requestsDuringFault: during.length,
      acknowledgedDuringFault: during.filter(acknowledged).length,
      statusesDuringFault: [...countBy(during, (s) => String(s.status)).entries()]
        .map(([k, v]) => `${k}:${v}`)
        .join(','),
      acknowledgedAfterRecovery: after.filter(acknowledged).length,
      receiverAlive: receiver.running,
    });
    expectExactlyOnce(verdict);
    expect(during.length).toBeGreaterThan(0);
    expect(during.filter(acknowledged).length, 'nothing is acknowledged while nothing can be stored').toBe(0);
    expect([...nonAckStatuses], 'a store that fails answers 503 (retry), never 500 or a dropped connection').toEqual(
      nonAckStatuses.size === 0 ? [] : [503],
    );
    expect(after.filter(acknowledged).length, 'the receiver recovers once the disk takes writes again').toBeGreaterThan(
      0,
    );
    expect(receiver.running).toBe(true);
  }, 120_000);

  test('the network to the Cosmos DB test server cut, then back (Cosmos + Service Bus): 503 only, nothing acknowledged lost', async () => {
    const proxyPort = await freePort();
    const cosmos = await CosmosProcess.start(proxyPort);
    const proxy = await TcpProxy.start(cosmos.port, proxyPort);
    const broker = await startBroker();
    const receiver = await Receiver.start({
      tenants: TENANTS,
      secretKey: SECRET_KEY,
      env: {
        ...BASE_ENV,
        COSMOS_ENDPOINT: `https://127.0.0.1:${proxy.port}/`,
        COSMOS_KEY,
        COSMOS_DATABASE: `faults-${randomUUID().slice(0, 8)}`,
        NODE_TLS_REJECT_UNAUTHORIZED: '0',
        SERVICEBUS_CONNECTION_STRING: broker.connectionString,
        SERVICEBUS_QUEUE: QUEUE,
      },
    });
    const sender = new Sender(receiver.url, await registerAll(receiver.url));
    sender.start();
    await sleep(phase(1000, 8000));
    await proxy.cut();
    const cut = performance.now();
    await sleep(phase(2000, 10_000));
    await proxy.restore();
    const restored = performance.now();
    await sleep(phase(2500, 8000));
    await sender.stop();
    const during = sender.shots.filter((s) => s.at > cut + 200 && s.at + s.ms < restored);
    const after = sender.shots.filter((s) => s.at > restored + 1500);
    await sender.retryUnacknowledged();
    await waitForQueue(() => brokerIds(broker), sender.acknowledgedIds);

    const verdict = judge(sender, brokerIds(broker));
    const nonAckStatuses = new Set(sender.shots.filter((s) => !acknowledged(s)).map((s) => s.status));
    report('fault: network to the Cosmos DB test server cut then restored under load', {
      ...verdict,
      requestsDuringFault: during.length,
      acknowledgedDuringFault: during.filter(acknowledged).length,
      statusesDuringFault: [...countBy(during, (s) => String(s.status)).entries()]
        .map(([k, v]) => `${k}:${v}`)
        .join(','),
      p99DuringFaultMs: round(during.map((s) => s.ms).sort((a, b) => a - b)[Math.floor(during.length * 0.99)] ?? 0, 0),
      acknowledgedAfterRecovery: after.filter(acknowledged).length,
    });
    expectExactlyOnce(verdict);
    expect(during.length).toBeGreaterThan(0);
    expect(during.filter(acknowledged).length).toBe(0);
    expect([...nonAckStatuses]).toEqual(nonAckStatuses.size === 0 ? [] : [503]);
    expect(after.filter(acknowledged).length).toBeGreaterThan(0);
  }, 150_000);
});
