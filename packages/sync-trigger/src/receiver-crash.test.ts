// Fault tests with real processes: the receiver (apps/api/dist/main.js) runs as a child process on
// a temp data dir with the Service Bus test broker as its queue. The broker goes down and comes
// back; the receiver is SIGKILLed while deliveries arrive and while its dispatcher drains the
// outbox. Every delivery answered 2xx must reach the queue exactly once (by messageId, after the
// broker's duplicate detection). Needs a build first: CI runs `pnpm build` before the tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ServiceBusTestBroker, type ServiceBusTestMessage, startServiceBusTestBroker } from '@webhooks/testkit';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';

const MAIN = fileURLToPath(new URL('../../../apps/api/dist/main.js', import.meta.url));
const KEY = 'tenant-crash-key-0123456789abcdef';
const SECRET_KEY = 'ab'.repeat(32);
const QUEUE = 'sync-tasks';

const children = new Set<ChildProcess>();
const brokers: ServiceBusTestBroker[] = [];
const dirs: string[] = [];

beforeAll(() => {
  if (!existsSync(MAIN)) {
    throw new Error(`${MAIN} is missing: run \`pnpm build\` before these tests (CI builds before testing)`);
  }
});

afterEach(async () => {
  for (const child of children) killNow(child);
  children.clear();
  for (const broker of brokers.splice(0)) await broker.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function killNow(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function startBroker(port = 0): Promise<ServiceBusTestBroker> {
  // Duplicate detection on, as the receiver's outbox relies on it.
  const broker = await startServiceBusTestBroker({ port, queues: [QUEUE], requiresDuplicateDetection: true });
  brokers.push(broker);
  return broker;
}

interface Receiver {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<void>;
}

async function startReceiver(dataDir: string, connectionString: string): Promise<Receiver> {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      WEBHOOKS_DATA_DIR: dataDir,
      WEBHOOKS_API_KEYS: `tenant-1:${KEY}`,
      WEBHOOKS_SECRET_KEY: SECRET_KEY,
      SERVICEBUS_CONNECTION_STRING: connectionString,
      SERVICEBUS_QUEUE: QUEUE,
      WEBHOOKS_DISPATCH_BACKOFF_SECONDS: '1',
      WEBHOOKS_RATE_LIMIT_PER_MINUTE: '100000',
      WEBHOOKS_FLOOD_LIMIT_PER_MINUTE: '100000',
      LOG_LEVEL: process.env.RECEIVER_LOG_LEVEL ?? 'error',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const begun = Date.now();
  const deadline = begun + 45_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the receiver exited at start-up:\n${output}`);
    try {
      if ((await fetch(`${url}/webhooks/health`, { signal: AbortSignal.timeout(2000) })).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the receiver did not start within 45 s:\n${output}`);
    await sleep(100);
  }
  if (process.env.RECEIVER_LOG_LEVEL) console.info(`receiver ready in ${Date.now() - begun} ms`);
  return { child, url, output: () => output, exited };
}

async function sigkill(receiver: Receiver): Promise<void> {
  killNow(receiver.child);
  await receiver.exited;
  children.delete(receiver.child);
}

const auth = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };

async function registerGitHub(url: string): Promise<{ registrationId: string; webhookSecret: string }> {
  const response = await fetch(`${url}/integrations/github/webhooks`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({
      connectionId: 'conn-1',
      events: ['issue.*'],
      retryPolicy: { maxRetries: 50, backoffSeconds: 1 },
    }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { registrationId: string; webhookSecret: string };
}

interface Sent {
  deliveryId: string;
  /** The HTTP status, or 0 when the request got no answer (the receiver died). */
  status: number;
  body?: { queued?: boolean; syncTriggered?: boolean };
}

async function sendDelivery(url: string, registration: { registrationId: string; webhookSecret: string }, n: number) {
  const deliveryId = randomUUID();
  const body = JSON.stringify({ action: 'opened', issue: { id: 900_000 + n, number: n, title: `issue ${n}` } });
  const signature = createHmac('sha256', registration.webhookSecret).update(body).digest('hex');
  const sent: Sent = { deliveryId, status: 0 };
  try {
    const response = await fetch(`${url}/webhooks/${registration.registrationId}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'issues',
        'x-github-delivery': deliveryId,
        'x-hub-signature-256': `sha256=${signature}`,
      },
      body,
      signal: AbortSignal.timeout(60_000),
    });
    sent.status = response.status;
    sent.body = (await response.json()) as Sent['body'];
  } catch {
    sent.status = 0;
  }
  return sent;
}

/** Sends deliveries `from..to-1`, `concurrency` at a time; stops starting new ones once `stop()` is true. */
async function sendMany(
  send: (n: number) => Promise<Sent>,
  from: number,
  to: number,
  concurrency: number,
  stop: () => boolean = () => false,
): Promise<Sent[]> {
  const results: Sent[] = [];
  let next = from;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < to && !stop()) {
        const n = next++;
        results.push(await send(n));
      }
    }),
  );
  return results;
}

function deliveryIdOf(message: ServiceBusTestMessage): string {
  return (message.body as { deliveryId: string }).deliveryId;
}

function countBy<T>(items: T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

async function outboxSize(url: string): Promise<number> {
  const response = await fetch(`${url}/sync-tasks?limit=1000`, { headers: auth, signal: AbortSignal.timeout(5000) });
  return ((await response.json()) as { total: number }).total;
}

/** Waits (bounded) until the outbox is empty and every id in `expected` reached the broker. */
async function waitForDrain(
  url: string,
  messages: () => ServiceBusTestMessage[],
  expected: string[],
  timeoutMs: number,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const arrived = new Set(messages().map(deliveryIdOf));
    const missing = expected.filter((id) => !arrived.has(id));
    const left = await outboxSize(url);
    if (missing.length === 0 && left === 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `not drained after ${timeoutMs} ms: ${missing.length} deliveries missing, ${left} tasks in the outbox`,
      );
    }
    await sleep(250);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'webhooks-receiver-crash-'));
  dirs.push(dir);
  return dir;
}

describe('the receiver process with Service Bus', () => {
  test('(a) deliveries acknowledged while the broker is down reach it exactly once after it comes back', async () => {
    const first = await startBroker();
    const receiver = await startReceiver(tempDir(), first.connectionString);
    const registration = await registerGitHub(receiver.url);

    await first.close();
    const started = Date.now();
    const sent = await sendMany((n) => sendDelivery(receiver.url, registration, n), 0, 100, 25);
    const sendMs = Date.now() - started;
    expect(sent).toHaveLength(100);
    for (const s of sent) {
      expect(s.status, receiver.output()).toBe(202);
      expect(s.body).toMatchObject({ queued: true, syncTriggered: false });
    }
    expect(await outboxSize(receiver.url)).toBe(100);

    const second = await startBroker(first.port);
    const back = Date.now();
    await waitForDrain(
      receiver.url,
      () => second.messages(QUEUE),
      sent.map((s) => s.deliveryId),
      60_000,
    );
    const drainMs = Date.now() - back;

    const messages = [...first.messages(QUEUE), ...second.messages(QUEUE)];
    expect(first.messages(QUEUE)).toEqual([]);
    const byMessageId = countBy(messages, (m) => m.messageId ?? '');
    const byDelivery = countBy(messages, deliveryIdOf);
    expect(byMessageId.size).toBe(100);
    expect([...byMessageId.values()].every((c) => c === 1)).toBe(true);
    expect([...byDelivery.keys()].sort()).toEqual(sent.map((s) => s.deliveryId).sort());
    expect([...byDelivery.values()].every((c) => c === 1)).toBe(true);
    // The dispatcher sent the backlog in batches, not one transfer per task.
    expect(second.stats().batches).toBeGreaterThan(0);
    expect(second.stats().transfers).toBeLessThan(100);
    console.info(
      `(a) 100 deliveries sent while down in ${sendMs} ms; drained ${drainMs} ms after the broker came back; ` +
        `${second.stats().transfers} transfers (${second.stats().batches} batches), ${second.stats().duplicatesDropped} duplicates dropped`,
    );
    await sigkill(receiver);
  }, 180_000);

  test('(b) SIGKILL while deliveries arrive and while the dispatcher drains: every 2xx reaches the queue once', async () => {
    const dir = tempDir();
    const first = await startBroker();
    const r1 = await startReceiver(dir, first.connectionString);
    const registration = await registerGitHub(r1.url);

    // 1. The queue is down; deliveries pile up in the outbox. SIGKILL the receiver mid-stream.
    await first.close();
    let answered = 0;
    let killed = false;
    const wave1 = sendMany(
      async (n) => {
        const s = await sendDelivery(r1.url, registration, n);
        answered++;
        if (answered === 60 && !killed) {
          killed = true;
          void sigkill(r1);
        }
        return s;
      },
      0,
      120,
      20,
      () => killed,
    );
    const sent1 = await wave1;
    await r1.exited;
    expect(killed).toBe(true);

    // 2. The queue comes back and a new receiver starts on the same data dir: its dispatcher
    // drains the backlog while new deliveries arrive (sent inline, one message each). SIGKILL it as
    // soon as the dispatcher's first batch reaches the broker: before or while it completes the round.
    const broker = await startBroker(first.port);
    const r2 = await startReceiver(dir, broker.connectionString);
    let stopWave2 = false;
    const wave2 = sendMany(
      (n) => sendDelivery(r2.url, registration, n),
      1000,
      1400,
      10,
      () => stopWave2,
    );
    const deadline = Date.now() + 30_000;
    while (!broker.messages(QUEUE).some((m) => m.batched) && Date.now() < deadline) await sleep(2);
    stopWave2 = true;
    await sigkill(r2);
    const atKill = broker.messages(QUEUE);
    const sent2 = await wave2;
    expect(atKill.filter((m) => m.batched).length, 'the dispatcher sent a batch before the kill').toBeGreaterThan(0);

    // 3. A third receiver on the same data dir finishes the job.
    const r3 = await startReceiver(dir, broker.connectionString);
    const all = [...sent1, ...sent2];
    const acknowledged = all.filter((s) => s.status >= 200 && s.status < 300);
    const refused = all.filter((s) => s.status !== 0 && (s.status < 200 || s.status >= 300));
    await waitForDrain(
      r3.url,
      () => broker.messages(QUEUE),
      acknowledged.map((s) => s.deliveryId),
      90_000,
    );

    const messages = broker.messages(QUEUE);
    expect(first.messages(QUEUE)).toEqual([]);
    const byMessageId = countBy(messages, (m) => m.messageId ?? '');
    const byDelivery = countBy(messages, deliveryIdOf);
    // Exactly once each (repeats were dropped by the broker's duplicate detection).
    expect([...byMessageId.values()].every((c) => c === 1)).toBe(true);
    expect([...byDelivery.values()].every((c) => c === 1)).toBe(true);
    expect(byDelivery.size).toBe(byMessageId.size);
    // None missing.
    const arrived = new Set(byDelivery.keys());
    expect(acknowledged.filter((s) => !arrived.has(s.deliveryId))).toEqual([]);
    // Nothing unexpected: every id that arrived is one we sent (unanswered ones may or may not have been stored).
    const attempted = new Set(all.map((s) => s.deliveryId));
    expect([...arrived].filter((id) => !attempted.has(id))).toEqual([]);
    const unanswered = all.filter((s) => s.status === 0);
    expect(acknowledged.length).toBeGreaterThanOrEqual(60);
    console.info(
      `(b) ${all.length} deliveries sent: ${acknowledged.length} acknowledged, ${refused.length} refused, ` +
        `${unanswered.length} unanswered (${unanswered.filter((s) => arrived.has(s.deliveryId)).length} of them stored and sent anyway); ` +
        `${atKill.length} messages at the second kill (${atKill.filter((m) => m.batched).length} batched); ${messages.length} unique messages, ` +
        `${broker.stats().duplicatesDropped} duplicates dropped by the broker`,
    );
    await sigkill(r3);
  }, 240_000);
});
