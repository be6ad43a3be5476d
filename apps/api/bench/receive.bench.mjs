// POST /webhooks/:id with a valid 1 KB GitHub delivery on the embedded default (verify, parse,
// dedupe, durable SQLite write, enqueue), against a bare Express 5 route (the ceiling), in one run.
// Each server runs in its own process; autocannon drives it from this one, over loopback.
// Run with `pnpm bench` from the root, or `node apps/api/bench/receive.bench.mjs` after a build.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signGitHub } from '@webhooks/verifiers';
import autocannon from 'autocannon';

const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const here = new URL('.', import.meta.url).pathname;

// BENCH_PROFILE_DIR=/some/dir writes a CPU profile of the receiver there (open it in Chrome DevTools).
const profile = process.env.BENCH_PROFILE_DIR;

function start(script, env, execArgv = []) {
  return new Promise((resolve, reject) => {
    const child = fork(script, [], {
      env: { ...process.env, ...env },
      execArgv,
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (output.includes('listening')) resolve(child);
    });
    child.on('message', (message) => message === 'ready' && resolve(child));
    child.on('exit', (code) => reject(new Error(`${script} exited with ${code}: ${output}`)));
  });
}

function stop(child) {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.on('exit', resolve);
    child.kill('SIGTERM');
  });
}

function run(options) {
  return new Promise((resolve, reject) => {
    autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

const payload = { action: 'opened', issue: { id: 1234567, number: 123, title: 'Bug: Login fails on mobile' }, pad: '' };
payload.pad = 'x'.repeat(1024 - JSON.stringify(payload).length);
const body = JSON.stringify(payload);

const dataDir = mkdtempSync(join(tmpdir(), 'webhooks-bench-'));
const apiKey = 'bench-tenant-key-0123456789abcdef';
const results = {};
try {
  const bare = await start(join(here, 'bare-server.mjs'), { PORT: '3901' });
  results.bare = await run({
    url: 'http://127.0.0.1:3901/webhooks/x',
    method: 'POST',
    body,
    connections: CONNECTIONS,
    duration: DURATION,
  });
  await stop(bare);

  const api = await start(
    join(here, '../dist/main.js'),
    {
      PORT: '3902',
      HOST: '127.0.0.1',
      WEBHOOKS_DATA_DIR: dataDir,
      WEBHOOKS_API_KEYS: `bench:${apiKey}`,
      WEBHOOKS_RATE_LIMIT_PER_MINUTE: '100000000',
      WEBHOOKS_FLOOD_LIMIT_PER_MINUTE: '100000000',
      LOG_LEVEL: 'warn',
      WEBHOOKS_SQLITE_SYNCHRONOUS: process.env.WEBHOOKS_SQLITE_SYNCHRONOUS ?? 'full',
    },
    profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [],
  );
  const registered = await fetch('http://127.0.0.1:3902/integrations/github/webhooks', {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ connectionId: 'bench', events: ['issue.*'] }),
  }).then((r) => r.json());
  const signature = signGitHub({ body, secret: registered.webhookSecret })['x-hub-signature-256'];
  let n = 0;
  const request = {
    method: 'POST',
    path: `/webhooks/${registered.registrationId}`,
    body,
    setupRequest: (req) => ({
      ...req,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'issues',
        'x-github-delivery': `bench-${process.pid}-${n++}`,
        'x-hub-signature-256': signature,
      },
    }),
  };
  results.ours = await run({
    url: 'http://127.0.0.1:3902',
    requests: [request],
    connections: CONNECTIONS,
    duration: DURATION,
  });
  // BENCH_PACED=0 skips the paced run (for a profile of the full-speed one alone).
  results.paced =
    process.env.BENCH_PACED === '0'
      ? undefined
      : await run({
          url: 'http://127.0.0.1:3902',
          requests: [request],
          connections: 16,
          duration: DURATION,
          overallRate: 1000,
        });
  await stop(api);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}

const row = (name, r) =>
  `| ${name} | ${Math.round(r.requests.average).toLocaleString('en-US')} | ${r.latency.p50} | ${r.latency.p99} | ${r.non2xx} | ${r.errors} |`;
console.log(
  `\nPOST /webhooks/:id, ${Buffer.byteLength(body)}-byte GitHub delivery, ${CONNECTIONS} connections, ${DURATION} s each, SQLite synchronous=${process.env.WEBHOOKS_SQLITE_SYNCHRONOUS ?? 'full'}, Node ${process.version}\n`,
);
console.log('| server | req/s | p50 ms | p99 ms | non-2xx | errors |');
console.log('|---|---:|---:|---:|---:|---:|');
console.log(row('bare Express 5 route (ceiling)', results.bare));
console.log(row('receiver, embedded default', results.ours));
if (results.paced) console.log(row('receiver at 1,000 req/s', results.paced));
console.log(`\nratio receiver / bare: ${(results.ours.requests.average / results.bare.requests.average).toFixed(2)}x`);
