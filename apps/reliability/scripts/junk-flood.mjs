// The attacker of the bounded flood (test/security.test.ts): invalid-signature GitHub deliveries to
// one registration, in an open loop at a fixed rate whatever the answers do, over keep-alive
// connections. A process of its own, so that its event loop never delays the valid tenant's
// requests in the test process (the two still share the machine's cores, as they would share a host).
// Usage: node junk-flood.mjs <url of the registration's receive route>
// Then on stdin, one command a line: `start <requests per second>`, `stop`. It prints `ready` once,
// and after each `stop` (once the requests in flight are answered) one JSON line with what it sent
// in that phase: requests, answered, skipped (not sent: MAX_OUTSTANDING were already waiting),
// statuses, ms (from start to the last answer), cpuMs (its own CPU time) and the junk's p50/p99.
import { createHmac, randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';

const url = process.argv[2];
if (!url) {
  process.stderr.write('usage: node junk-flood.mjs <url>\n');
  process.exit(2);
}
/** Beyond this many requests waiting for an answer, the next ones are skipped (and counted). */
const MAX_OUTSTANDING = 256;
const agent = new Agent({ keepAlive: true, maxSockets: 32, maxFreeSockets: 32, keepAliveMsecs: 10_000 });
const body = JSON.stringify({
  action: 'opened',
  issue: { id: 1, number: 1, title: 'junk' },
  repository: { id: 1, full_name: 'acme/widgets' },
});

let phase;

function fire(current) {
  const id = randomUUID();
  const at = performance.now();
  current.outstanding++;
  const done = (status) => {
    current.outstanding--;
    current.latencies.push(performance.now() - at);
    current.statuses[status] = (current.statuses[status] ?? 0) + 1;
    if (status !== 0) current.answered++;
    if (!current.running && current.outstanding === 0) current.drained?.();
  };
  const req = request(
    url,
    {
      method: 'POST',
      agent,
      timeout: 30_000,
      headers: {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'x-github-event': 'issues',
        'x-github-delivery': id,
        'x-hub-signature-256': `sha256=${createHmac('sha256', 'not-the-secret').update(id).digest('hex')}`,
      },
    },
    (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode ?? 0));
      res.on('error', () => done(0));
    },
  );
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', () => done(0));
  req.end(body);
}

function tick() {
  const current = phase;
  if (!current?.running) return;
  const due = Math.floor(((performance.now() - current.started) * current.rate) / 1000);
  while (current.issued < due) {
    current.issued++;
    if (current.outstanding >= MAX_OUTSTANDING) current.skipped++;
    else fire(current);
  }
  current.timer = setTimeout(tick, 1);
}

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

async function stop() {
  const current = phase;
  if (!current) return;
  current.running = false;
  clearTimeout(current.timer);
  const stoppedAt = performance.now();
  if (current.outstanding > 0) {
    await new Promise((resolve) => {
      current.drained = resolve;
      setTimeout(resolve, 35_000);
    });
  }
  const cpu = process.cpuUsage(current.cpu);
  const latencies = current.latencies.sort((a, b) => a - b);
  const round = (v) => Math.round(v * 100) / 100;
  phase = undefined;
  process.stdout.write(
    `${JSON.stringify({
      rate: current.rate,
      requests: current.issued - current.skipped,
      answered: current.answered,
      skipped: current.skipped,
      statuses: current.statuses,
      sendingMs: round(stoppedAt - current.started),
      ms: round(performance.now() - current.started),
      cpuMs: round((cpu.user + cpu.system) / 1000),
      p50: round(percentile(latencies, 50)),
      p99: round(percentile(latencies, 99)),
    })}\n`,
  );
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, arg] = line.trim().split(/\s+/);
  if (command === 'start' && !phase) {
    phase = {
      rate: Number(arg),
      started: performance.now(),
      cpu: process.cpuUsage(),
      issued: 0,
      skipped: 0,
      outstanding: 0,
      answered: 0,
      statuses: {},
      latencies: [],
      running: true,
      timer: undefined,
      drained: undefined,
    };
    tick();
  } else if (command === 'stop') {
    void stop();
  }
});
process.stdin.on('end', () => process.exit(0));
process.stdout.write('ready\n');
