// processWebhookEvent with in-memory ports for a 1 KB GitHub delivery, on one core: events/s, and
// the share of each event's time spent in verify, parse and the rest (lookup, rate limit, dedupe,
// store, match, enqueue, counters), each part measured alone in the same run.
// Run with `pnpm bench` from the root (after a build: it runs the built dist).
import { parseWebhook } from '@webhooks/parsers';
import { signGitHub, verifyWebhook } from '@webhooks/verifiers';
import { MemoryStore, MemorySyncQueue, WebhookManagementService } from '../dist/index.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 1000);

async function measure(fn) {
  for (let i = 0; i < 2000; i++) {
    await fn(i);
    if (i % 200 === 199) await new Promise(setImmediate);
  }
  const rates = [];
  let n = 2000;
  for (let round = 0; round < ROUNDS; round++) {
    let ops = 0;
    const start = process.hrtime.bigint();
    const deadline = start + BigInt(ROUND_MS) * 1_000_000n;
    let t = start;
    while (t < deadline) {
      for (let i = 0; i < 200; i++) await fn(n++);
      ops += 200;
      // A turn of the event loop every 200 events, as a server between socket reads: the batched
      // outbox completions are written there.
      await new Promise(setImmediate);
      t = process.hrtime.bigint();
    }
    rates.push(ops / (Number(t - start) / 1e9));
  }
  rates.sort((a, b) => a - b);
  return { median: rates[Math.floor(rates.length / 2)], low: rates[0], high: rates[rates.length - 1] };
}

const store = new MemoryStore({ keepDeliveries: 1000 });
const queue = new MemorySyncQueue();
const service = new WebhookManagementService({
  registrations: store,
  deliveries: store,
  outbox: store,
  queue,
  publicBaseUrl: 'https://hooks.example.com',
  rateLimit: { perMinute: 1e12, floodPerMinute: 1e12 },
});
// The bench queue forgets what it is given, so memory stays flat however long it runs.
queue.enqueue = async () => {};

const { registration } = await service.registerWebhook('tenant-1', 'github', 'conn-1', ['issue.*']);
const payload = { action: 'opened', issue: { id: 1234567, number: 123, title: 'Bug: Login fails on mobile' }, pad: '' };
payload.pad = 'x'.repeat(1024 - JSON.stringify(payload).length);
const body = Buffer.from(JSON.stringify(payload));
const signature = signGitHub({ body, secret: registration.webhookSecret })['x-hub-signature-256'];
// A literal per request, as Node's HTTP parser would hand over; a fresh delivery id each time.
const headersFor = (i) => ({
  'content-type': 'application/json',
  'x-github-event': 'issues',
  'x-github-delivery': `delivery-${i}`,
  'x-hub-signature-256': signature,
});

let failures = 0;
const full = await measure(async (i) => {
  const result = await service.processWebhookEvent(registration.id, headersFor(i), body);
  if (result.status !== 200) failures++;
});
if (failures > 0) throw new Error(`${failures} deliveries were not accepted`);
const options = { secrets: [registration.webhookSecret] };
const verify = await measure(async (i) => {
  if (!(await verifyWebhook('github', { headers: headersFor(i), body }, options)).ok) throw new Error('verify failed');
});
const parse = await measure(async (i) => {
  parseWebhook('github', { headers: headersFor(i), body });
});

const perEvent = 1e6 / full.median;
const verifyUs = 1e6 / verify.median;
const parseUs = 1e6 / parse.median;
const restUs = Math.max(0, perEvent - verifyUs - parseUs);
const pct = (us) => `${((us / perEvent) * 100).toFixed(0)}%`;
console.log(
  `\nprocessWebhookEvent, ${body.length}-byte GitHub delivery, in-memory ports, Node ${process.version}, one core`,
);
console.log(`median of ${ROUNDS} rounds of ${ROUND_MS} ms\n`);
console.log('| part | µs per event | share |');
console.log('|---|---:|---:|');
console.log(`| whole receive path | ${perEvent.toFixed(2)} | 100% |`);
console.log(`| verify (alone) | ${verifyUs.toFixed(2)} | ${pct(verifyUs)} |`);
console.log(`| parse (alone) | ${parseUs.toFixed(2)} | ${pct(parseUs)} |`);
console.log(`| the rest | ${restUs.toFixed(2)} | ${pct(restUs)} |`);
const rate = (n) => Math.round(n).toLocaleString('en-US');
console.log(
  `\nthroughput: ${rate(full.median)} events/s (rounds ${rate(full.low)} to ${rate(full.high)}; goal >= 50,000)`,
);
