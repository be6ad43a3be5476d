import type { RateLimitDecision } from '@webhooks/core';
import { MemoryRateLimiter } from '@webhooks/service';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient } from './client.js';
import { RedisRateLimiter } from './rate-limiter.js';
import { TestRedisServer } from './test-support.js';

const MINUTE = 60_000;

/** A clock the test moves; starts at a window boundary. */
class ManualClock {
  ms = Date.UTC(2026, 10, 28, 12, 0, 0);
  now(): number {
    return this.ms;
  }
}

let server: TestRedisServer;
const clients: Redis[] = [];
async function client(): Promise<Redis> {
  const c = await server.client();
  clients.push(c);
  return c;
}

beforeAll(async () => {
  server = await TestRedisServer.start();
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await server.stop();
});

async function consumeMany(
  limiter: RedisRateLimiter,
  key: string,
  n: number,
  limit: number,
): Promise<RateLimitDecision[]> {
  const decisions: RateLimitDecision[] = [];
  for (let i = 0; i < n; i++) decisions.push(await limiter.consume(key, limit, MINUTE));
  return decisions;
}

describe('RedisRateLimiter', () => {
  it('holds one limit across two instances with their own connections', async () => {
    const clock = new ManualClock();
    const a = new RedisRateLimiter({ redis: await client(), clock, keyPrefix: 'rl1:' });
    const b = new RedisRateLimiter({ redis: await client(), clock, keyPrefix: 'rl1:' });
    const fromA = await consumeMany(a, 'rate:wh_1', 6, 10);
    const fromB = await consumeMany(b, 'rate:wh_1', 4, 10);
    expect([...fromA, ...fromB].every((d) => d.allowed)).toBe(true);
    expect(fromB.at(-1)?.remaining).toBe(0);
    for (const limiter of [a, b]) {
      const refused = await limiter.consume('rate:wh_1', 10, MINUTE);
      expect(refused).toEqual({ allowed: false, limit: 10, remaining: 0, retryAfterSeconds: 60 });
    }
    expect((await a.consume('rate:wh_other', 10, MINUTE)).allowed).toBe(true);
    expect(a.stats()).toEqual({ redis: 8, fallback: 0 });
  });

  it('slides: the previous window counts by its remaining overlap', async () => {
    const clock = new ManualClock();
    const limiter = new RedisRateLimiter({ redis: await client(), clock, keyPrefix: 'rl2:' });
    expect((await consumeMany(limiter, 'k', 10, 10)).every((d) => d.allowed)).toBe(true);

    clock.ms += MINUTE; // the full previous window still overlaps
    const refused = await limiter.consume('k', 10, MINUTE);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);

    clock.ms += MINUTE / 2; // half of it has slid out: 5 of 10 count
    const half = await consumeMany(limiter, 'k', 6, 10);
    expect(half.map((d) => d.allowed)).toEqual([true, true, true, true, true, false]);

    clock.ms += 2 * MINUTE; // both windows gone
    expect((await limiter.consume('k', 10, MINUTE)).remaining).toBe(9);
  });

  it('makes the decisions MemoryRateLimiter makes, request for request', async () => {
    const clock = new ManualClock();
    clock.ms += 12_345;
    const redis = new RedisRateLimiter({ redis: await client(), clock, keyPrefix: 'rl3:' });
    const memory = new MemoryRateLimiter(clock);
    const steps = [0, 700, 1500, 9000, 20_000, 31_000, 45_000, 3000, 250, 60_000, 1, 17_000];
    for (let i = 0; i < 400; i++) {
      clock.ms += steps[i % steps.length]! / 10;
      const limit = i % 50 < 25 ? 7 : 30;
      expect(await redis.consume('same', limit, 10_000)).toEqual(await memory.consume('same', limit, 10_000));
    }
  });

  it('keeps each window in a key that expires after it can no longer count', async () => {
    const clock = new ManualClock();
    const redis = await client();
    const limiter = new RedisRateLimiter({ redis, clock, keyPrefix: 'rl4:' });
    await limiter.consume('flood:wh_1', 1000, MINUTE);
    const keys = await redis.keys('rl4:*');
    expect(keys).toEqual([`rl4:rate:{flood:wh_1}:${clock.ms}`]);
    const ttl = await redis.pttl(keys[0]!);
    expect(ttl).toBeGreaterThan(2 * MINUTE);
    expect(ttl).toBeLessThanOrEqual(2 * MINUTE + 1000);
  });

  it('loads its script again after Redis forgot it (EVALSHA falls back to EVAL)', async () => {
    const redis = await client();
    const limiter = new RedisRateLimiter({ redis, keyPrefix: 'rl5:' });
    expect((await limiter.consume('k', 5, MINUTE)).allowed).toBe(true);
    await redis.script('FLUSH');
    expect(await limiter.consume('k', 5, MINUTE)).toMatchObject({ allowed: true, remaining: 3 });
    expect(limiter.stats()).toEqual({ redis: 2, fallback: 0 });
  });

  it('fails open to a local limiter when Redis is unreachable: no error, the limit held per instance', async () => {
    const down = createRedisClient('redis://127.0.0.1:1', { retryStrategy: () => null });
    clients.push(down);
    const limiter = new RedisRateLimiter({ redis: down, clock: new ManualClock() });
    const decisions = await consumeMany(limiter, 'k', 4, 3);
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
    expect(decisions[3]?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(limiter.stats()).toEqual({ redis: 0, fallback: 4 });
  });
});
