// Registration-cache latency: an in-process (L1) hit against a bare Map.get in the same run, and a
// Redis (L2) hit's p50/p99 against a redis-server this script starts on a free port and stops.
// Run with `pnpm bench` (builds first), or `node bench/cache.bench.mjs` after a build.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAesGcmSecretBox, LruRegistrationCache } from '@webhooks/service';
import { createRedisClient, RedisRegistrationCache, TwoLevelRegistrationCache } from '../dist/index.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const OPS = Number(process.env.BENCH_OPS ?? 1_000_000);
const REDIS_GETS = Number(process.env.BENCH_REDIS_GETS ?? 5000);

const registration = {
  id: 'wh_0123456789abcdef',
  tenantId: 'tenant-1',
  integrationId: 'github',
  connectionId: 'conn-1',
  webhookUrl: 'https://hooks.example.com/webhooks/wh_0123456789abcdef',
  webhookSecret: `whsec_${'A'.repeat(43)}=`,
  previousSecrets: [{ secret: `whsec_${'B'.repeat(43)}=`, expiresAt: new Date('2026-12-01T00:00:00Z') }],
  events: ['issue.*', 'pull_request.*'],
  status: 'active',
  isVerified: true,
  failureCount: 0,
  metadata: { team: 'payments' },
  createdAt: new Date('2026-11-28T12:00:00Z'),
  updatedAt: new Date('2026-11-28T12:00:00Z'),
  etag: '"1"',
};
const ID = registration.id;

/** Median ns/op over ROUNDS rounds of OPS calls (after a warm-up round). */
async function nsPerOp(fn) {
  await fn(OPS / 10);
  const results = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    await fn(OPS);
    results.push(Number(process.hrtime.bigint() - start) / OPS);
  }
  results.sort((a, b) => a - b);
  return results[Math.floor(results.length / 2)];
}

/** p50 and p99 in µs of `count` sequential calls (after a warm-up). */
async function percentiles(fn, count) {
  for (let i = 0; i < 500; i++) await fn();
  const samples = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const start = process.hrtime.bigint();
    await fn();
    samples[i] = Number(process.hrtime.bigint() - start) / 1000;
  }
  samples.sort();
  return { p50: samples[Math.floor(count * 0.5)], p99: samples[Math.floor(count * 0.99)] };
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function startRedis() {
  const dir = mkdtempSync(join(tmpdir(), 'cache-redis-bench-'));
  const port = await freePort();
  const pidFile = join(dir, 'redis.pid');
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  args.push('--daemonize', 'yes', '--pidfile', pidFile, '--dir', dir, '--logfile', join(dir, 'redis.log'));
  const result = spawnSync('redis-server', args, { encoding: 'utf8' });
  if (result.error?.code === 'ENOENT') throw new Error('redis-server is not on PATH: apt-get install -y redis-server');
  if (result.status !== 0) throw new Error(`redis-server did not start: ${result.stderr || result.stdout}`);
  for (let i = 0; i < 250 && !(existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim()); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  const stop = () => {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {}
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stop);
  return { url: `redis://127.0.0.1:${port}`, stop };
}

const redisServer = await startRedis();
const redis = createRedisClient(redisServer.url);
try {
  for (let i = 0; i < 250 && redis.status !== 'ready'; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  if (redis.status !== 'ready') throw new Error('could not connect to the redis-server started for the bench');

  const map = new Map([[ID, registration]]);
  const l1 = new LruRegistrationCache();
  await l1.set(registration);
  const secretBox = createAesGcmSecretBox('bench key');
  const twoLevel = new TwoLevelRegistrationCache({ redis, secretBox, keyPrefix: 'bench:' });
  await twoLevel.set(registration);
  const l2 = new RedisRegistrationCache({ redis, secretBox, keyPrefix: 'bench:' });
  await l2.set(registration);

  let sink = 0;
  const mapNs = await nsPerOp((n) => {
    for (let i = 0; i < n; i++) sink += map.get(ID).failureCount;
  });
  const awaitedMapNs = await nsPerOp(async (n) => {
    for (let i = 0; i < n; i++) sink += (await map.get(ID)).failureCount;
  });
  const l1Ns = await nsPerOp(async (n) => {
    for (let i = 0; i < n; i++) sink += (await l1.get(ID)).failureCount;
  });
  const twoLevelNs = await nsPerOp(async (n) => {
    for (let i = 0; i < n; i++) sink += (await twoLevel.get(ID)).failureCount;
  });
  if (l1.stats().misses + twoLevel.stats().misses > 0) throw new Error('an L1 get missed');

  const key = l2.key(ID);
  const rawGet = await percentiles(() => redis.get(key), REDIS_GETS);
  const l2Get = await percentiles(async () => {
    if ((await l2.get(ID)) === null) throw new Error('an L2 get missed');
  }, REDIS_GETS);
  if (sink < 0) console.log(sink);

  const µs = (ns) => (ns / 1000).toFixed(3);
  console.log(
    `\nRegistration cache, Node ${process.version}, ${ROUNDS} rounds of ${OPS.toLocaleString('en-US')} gets (median)`,
  );
  console.log(`Redis: ${REDIS_GETS.toLocaleString('en-US')} sequential gets against a local redis-server (loopback)\n`);
  console.log('| get | ns/op | µs/op |');
  console.log('|---|---:|---:|');
  console.log(`| Map.get (baseline) | ${mapNs.toFixed(1)} | ${µs(mapNs)} |`);
  console.log(`| await Map.get (async baseline) | ${awaitedMapNs.toFixed(1)} | ${µs(awaitedMapNs)} |`);
  console.log(`| LruRegistrationCache.get, L1 hit | ${l1Ns.toFixed(1)} | ${µs(l1Ns)} |`);
  console.log(`| TwoLevelRegistrationCache.get, L1 hit | ${twoLevelNs.toFixed(1)} | ${µs(twoLevelNs)} |`);
  console.log('\n| Redis get | p50 µs | p99 µs |');
  console.log('|---|---:|---:|');
  console.log(`| raw ioredis GET (baseline) | ${rawGet.p50.toFixed(1)} | ${rawGet.p99.toFixed(1)} |`);
  console.log(
    `| RedisRegistrationCache.get, L2 hit (GET + JSON + AES-GCM open) | ${l2Get.p50.toFixed(1)} | ${l2Get.p99.toFixed(1)} |`,
  );
  const goal = Math.max(l1Ns, twoLevelNs) < 5000 ? 'met' : 'NOT met';
  console.log(`\nL1 hit goal < 5 µs: ${goal}`);
  await twoLevel.close();
} finally {
  redis.disconnect();
  redisServer.stop();
}
