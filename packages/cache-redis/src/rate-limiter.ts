import type { Clock, RateLimitDecision, RateLimiter } from '@webhooks/core';
import { systemClock } from '@webhooks/core';
import { MemoryRateLimiter, type ServiceLogger } from '@webhooks/service';
import type { Redis } from 'ioredis';
import { FailureLog, silentLogger } from './failure-log.js';
import { LuaScript } from './lua-script.js';

export interface RedisRateLimiterOptions {
  redis: Redis;
  keyPrefix?: string;
  /**
   * Whose time places a request in a window: this instance's (NTP-synchronised instances differ by
   * milliseconds against 60 s windows). Injectable so tests can slide the window.
   */
  clock?: Clock;
  /** Decides while Redis is unreachable; a MemoryRateLimiter on the same clock by default. */
  fallback?: RateLimiter;
  logger?: ServiceLogger;
}

export interface RedisRateLimiterStats {
  /** Decisions Redis made. */
  redis: number;
  /** Decisions the local fallback made because Redis was unreachable. */
  fallback: number;
}

// The sliding-window counter of MemoryRateLimiter, read and incremented in one atomic step:
// KEYS = current window, previous window; ARGV = now, window start, window length, limit.
// `used` goes back as a string because Redis truncates Lua numbers to integers.
const CONSUME = new LuaScript(`
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
local now = tonumber(ARGV[1])
local start = tonumber(ARGV[2])
local windowMs = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local used = previous * (1 - (now - start) / windowMs) + current
if used + 1 > limit then return {0, tostring(used), previous} end
if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], windowMs * 2 + 1000) end
return {1, tostring(used), previous}
`);

/**
 * A sliding-window-counter limiter shared by every instance through Redis, with the semantics of
 * MemoryRateLimiter (same estimate, same `remaining`, `retryAfterSeconds` >= 1 when refused). Each
 * window is one counter key that expires after it can no longer be the previous window.
 *
 * It fails open: while Redis is unreachable the local fallback decides, so a Redis outage never
 * turns into errors for providers. The limit then holds per instance instead of across them (N
 * instances admit up to N times the limit), which is the price of staying up.
 */
export class RedisRateLimiter implements RateLimiter {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #clock: Clock;
  readonly #fallback: RateLimiter;
  readonly #failures: FailureLog;
  #redisDecisions = 0;
  #fallbackDecisions = 0;

  constructor(options: RedisRateLimiterOptions) {
    this.#redis = options.redis;
    this.#prefix = options.keyPrefix ?? 'webhooks:';
    this.#clock = options.clock ?? systemClock;
    this.#fallback = options.fallback ?? new MemoryRateLimiter(this.#clock);
    this.#failures = new FailureLog(options.logger ?? silentLogger, 'rate limiter');
  }

  async consume(key: string, limit: number, windowMs: number): Promise<RateLimitDecision> {
    const now = this.#clock.now();
    const start = now - (now % windowMs);
    // The hash tag keeps both windows of a key in one slot, as a script on a cluster requires.
    const base = `${this.#prefix}rate:{${key}}:`;
    let allowed: boolean;
    let used: number;
    let previousCount: number;
    try {
      const reply = await CONSUME.run(
        this.#redis,
        [`${base}${start}`, `${base}${start - windowMs}`],
        [now, start, windowMs, limit],
      );
      if (!Array.isArray(reply) || reply.length !== 3) throw new Error('unexpected reply from the rate-limit script');
      allowed = reply[0] === 1;
      used = Number(reply[1]);
      previousCount = Number(reply[2]);
      this.#failures.succeeded();
    } catch (error) {
      this.#failures.failed(error);
      this.#fallbackDecisions++;
      return this.#fallback.consume(key, limit, windowMs);
    }
    this.#redisDecisions++;
    if (allowed) {
      return { allowed: true, limit, remaining: Math.max(0, Math.floor(limit - used - 1)), retryAfterSeconds: 0 };
    }
    // The estimate falls below the limit once enough of the previous window has slid out.
    const excess = used + 1 - limit;
    const wait = previousCount > 0 ? Math.min(windowMs, (excess / previousCount) * windowMs) : start + windowMs - now;
    return { allowed: false, limit, remaining: 0, retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)) };
  }

  stats(): RedisRateLimiterStats {
    return { redis: this.#redisDecisions, fallback: this.#fallbackDecisions };
  }
}
