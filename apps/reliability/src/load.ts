// The load generator and the sender's log: HTTP/1.1 keep-alive on loopback (node:http, lighter than
// fetch on a 2-core machine shared with the receiver), closed-loop and open-loop drivers, GitHub
// deliveries signed like GitHub signs them, and the figures (throughput, p50/p99, errors).
import { createHmac, randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';

export interface Answer {
  status: number;
  /** The parsed JSON body, or the raw text when it is not JSON. */
  body: unknown;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

const agents = new Map<number, Agent>();

function agentFor(maxSockets: number): Agent {
  let agent = agents.get(maxSockets);
  if (!agent) {
    agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, keepAliveMsecs: 10_000 });
    agents.set(maxSockets, agent);
  }
  return agent;
}

/** Closes the pooled sockets (before a receiver restart, for example). */
export function resetAgents(): void {
  for (const agent of agents.values()) agent.destroy();
  agents.clear();
}

export interface SendOptions {
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Uint8Array;
  timeoutMs?: number;
  /** Sockets in the keep-alive pool this request shares. */
  pool?: number;
}

/** One HTTP request; rejects only when there is no answer (connection refused or reset, timeout). */
export function send(url: string, options: SendOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = options.body ?? '';
    const req = request(
      url,
      {
        method: options.method ?? 'POST',
        headers: { ...options.headers, 'content-length': String(Buffer.byteLength(body)) },
        agent: agentFor(options.pool ?? 64),
        timeout: options.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, text, headers: res.headers });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

// ------------------------------------------------------------------ the sender's log

export interface Shot {
  /** The provider's delivery id (x-github-delivery), the key every count is made on. */
  deliveryId: string;
  /** HTTP status, or 0 when no answer came (refused, reset, timed out). */
  status: number;
  ms: number;
  at: number;
  body?: unknown;
}

export const acknowledged = (shot: Shot): boolean => shot.status >= 200 && shot.status < 300;

export interface Registration {
  registrationId: string;
  webhookSecret: string;
}

/** A GitHub `issues` delivery, signed with the registration's secret. */
export function githubDelivery(secret: string, n: number, deliveryId: string = randomUUID()) {
  const body = JSON.stringify({
    action: 'opened',
    issue: { id: 700_000 + n, number: n, title: `reliability issue ${n}` },
    repository: { id: 1, full_name: 'acme/widgets' },
  });
  const signature = createHmac('sha256', secret).update(body).digest('hex');
  return {
    deliveryId,
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'issues',
      'x-github-delivery': deliveryId,
      'x-hub-signature-256': `sha256=${signature}`,
    },
  };
}

/** Sends one GitHub delivery and logs what the sender saw. */
export async function sendGitHub(
  baseUrl: string,
  registration: Registration,
  n: number,
  deliveryId?: string,
  timeoutMs = 30_000,
): Promise<Shot> {
  const delivery = githubDelivery(registration.webhookSecret, n, deliveryId);
  const at = performance.now();
  try {
    const answer = await send(`${baseUrl}/webhooks/${registration.registrationId}`, {
      headers: delivery.headers,
      body: delivery.body,
      timeoutMs,
    });
    return {
      deliveryId: delivery.deliveryId,
      status: answer.status,
      ms: performance.now() - at,
      at,
      body: answer.body,
    };
  } catch {
    return { deliveryId: delivery.deliveryId, status: 0, ms: performance.now() - at, at };
  }
}

// ------------------------------------------------------------------ drivers

export interface ClosedLoopOptions {
  concurrency: number;
  /** Stop starting requests after this long... */
  durationMs?: number;
  /** ...or after this many. */
  count?: number;
  stop?: () => boolean;
}

/** `concurrency` workers, each sending its next request as soon as the last is answered. */
export async function closedLoop(options: ClosedLoopOptions, one: (n: number) => Promise<Shot>): Promise<Run> {
  const shots: Shot[] = [];
  const started = performance.now();
  const until = options.durationMs === undefined ? Number.POSITIVE_INFINITY : started + options.durationMs;
  const count = options.count ?? Number.POSITIVE_INFINITY;
  let next = 0;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (next < count && performance.now() < until && !options.stop?.()) {
        shots.push(await one(next++));
      }
    }),
  );
  return { shots, wallMs: performance.now() - started };
}

/** Starts requests at a fixed rate whatever the answers do (latency is then honest under load). */
export async function openLoop(
  options: { ratePerSecond: number; durationMs: number },
  one: (n: number) => Promise<Shot>,
): Promise<Run> {
  const shots: Promise<Shot>[] = [];
  const started = performance.now();
  const interval = 1000 / options.ratePerSecond;
  const total = Math.floor((options.durationMs / 1000) * options.ratePerSecond);
  for (let n = 0; n < total; n++) {
    const due = started + n * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    shots.push(one(n));
  }
  const all = await Promise.all(shots);
  return { shots: all, wallMs: performance.now() - started };
}

export interface Run {
  shots: Shot[];
  wallMs: number;
}

export interface Summary {
  requests: number;
  acknowledged: number;
  /** Answers that were not 2xx, and requests that got no answer. */
  errors: number;
  /** Acknowledged per second of wall time. */
  throughput: number;
  p50: number;
  p99: number;
  max: number;
  statuses: Record<string, number>;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function summarize(run: Run): Summary {
  const latencies = run.shots.map((s) => s.ms).sort((a, b) => a - b);
  const statuses: Record<string, number> = {};
  for (const shot of run.shots) statuses[shot.status] = (statuses[shot.status] ?? 0) + 1;
  const ok = run.shots.filter(acknowledged).length;
  return {
    requests: run.shots.length,
    acknowledged: ok,
    errors: run.shots.length - ok,
    throughput: round((ok / run.wallMs) * 1000, 1),
    p50: round(percentile(latencies, 50), 2),
    p99: round(percentile(latencies, 99), 2),
    max: round(latencies.at(-1) ?? 0, 1),
    statuses,
  };
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function countBy<T>(items: T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}
