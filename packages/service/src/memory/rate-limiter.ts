import type { Clock, RateLimitDecision, RateLimiter } from '@webhooks/core';
import { systemClock } from '@webhooks/core';

/**
 * A sliding-window-counter limiter in process memory (the previous window's count weighted by its
 * remaining overlap, as Cloudflare and Redis-cell do). Holds per instance only; use the Redis
 * limiter when several instances share the limit.
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly #windows = new Map<string, { start: number; current: number; previous: number }>();
  readonly #clock: Clock;

  constructor(clock: Clock = systemClock) {
    this.#clock = clock;
  }

  async consume(key: string, limit: number, windowMs: number): Promise<RateLimitDecision> {
    return this.consumeSync(key, limit, windowMs);
  }

  consumeSync(key: string, limit: number, windowMs: number): RateLimitDecision {
    const now = this.#clock.now();
    const start = now - (now % windowMs);
    let window = this.#windows.get(key);
    if (!window || window.start !== start) {
      const previous = window && window.start === start - windowMs ? window.current : 0;
      window = { start, current: 0, previous };
      this.#windows.set(key, window);
      if (this.#windows.size > 100_000) this.#sweep(start - windowMs);
    }
    const overlap = 1 - (now - start) / windowMs;
    const used = window.previous * overlap + window.current;
    if (used + 1 > limit) {
      // The estimate falls below the limit once enough of the previous window has slid out.
      const excess = used + 1 - limit;
      const wait =
        window.previous > 0 ? Math.min(windowMs, (excess / window.previous) * windowMs) : start + windowMs - now;
      return { allowed: false, limit, remaining: 0, retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)) };
    }
    window.current++;
    return { allowed: true, limit, remaining: Math.max(0, Math.floor(limit - used - 1)), retryAfterSeconds: 0 };
  }

  #sweep(oldest: number): void {
    for (const [key, window] of this.#windows) if (window.start < oldest) this.#windows.delete(key);
  }
}
