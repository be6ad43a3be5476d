import type { CacheStats, RegistrationCache, SecretBox, WebhookRegistration } from '@webhooks/core';
import { LruRegistrationCache, type ServiceLogger } from '@webhooks/service';
import type { Redis } from 'ioredis';
import { type RedisCacheStats, RedisRegistrationCache } from './registration-cache.js';

export interface CreateTwoLevelCacheOptions {
  /** The command connection. */
  redis: Redis;
  /** A second connection, used only for the invalidation subscription. */
  subscriber: Redis;
  /** Seals secrets before they reach Redis. */
  secretBox: SecretBox;
  keyPrefix?: string;
  /** In-process entries; the spec's 1000 by default. */
  l1Max?: number;
  /** In-process time to live; the spec's 5 minutes. Also the bound on staleness when an invalidation is lost. */
  l1TtlMs?: number;
  /** Redis time to live; the spec's 24 hours. */
  l2TtlMs?: number;
  /** How long fills of an id are refused after it was invalidated (see RedisRegistrationCache). */
  fenceMs?: number;
  instanceId?: string;
  logger?: ServiceLogger;
}

export interface TwoLevelCacheStats extends CacheStats {
  l2: RedisCacheStats;
}

/**
 * The spec's registration cache: an in-process LRU (1000 entries, 5 minutes) in front of Redis
 * (24 hours), kept coherent across instances by pub/sub. When another instance invalidates an id
 * the local entry is dropped; when the subscription had to reconnect (messages may have been lost)
 * the whole in-process level is dropped. Hit rate counts a hit at either level.
 */
export class TwoLevelRegistrationCache implements RegistrationCache {
  readonly l2: RedisRegistrationCache;
  readonly #l1Options: { max: number; ttlMs: number };
  readonly #fenceMs: number;
  /** Ids invalidated recently, until when: no fills for them meanwhile. */
  readonly #fences = new Map<string, number>();
  #l1: LruRegistrationCache;
  /** Counters of in-process levels dropped by a resync. */
  #retired = { hits: 0, misses: 0 };
  #unsubscribe: (() => Promise<void>) | undefined;

  constructor(options: Omit<CreateTwoLevelCacheOptions, 'subscriber'>) {
    this.l2 = new RedisRegistrationCache({
      redis: options.redis,
      secretBox: options.secretBox,
      ...(options.keyPrefix !== undefined && { keyPrefix: options.keyPrefix }),
      ...(options.l2TtlMs !== undefined && { ttlMs: options.l2TtlMs }),
      ...(options.fenceMs !== undefined && { fenceMs: options.fenceMs }),
      ...(options.instanceId !== undefined && { instanceId: options.instanceId }),
      ...(options.logger !== undefined && { logger: options.logger }),
    });
    this.#l1Options = { max: options.l1Max ?? 1000, ttlMs: options.l1TtlMs ?? 5 * 60_000 };
    this.#fenceMs = options.fenceMs ?? 5000;
    this.#l1 = this.#newL1();
  }

  get(id: string): Promise<WebhookRegistration | null> {
    return this.#l1.get(id);
  }

  /** The in-process level's entry, if it has one (Redis is only asked by `get`). */
  getLocal(id: string): WebhookRegistration | undefined {
    return this.#l1.getLocal(id);
  }

  async set(registration: WebhookRegistration): Promise<void> {
    await this.#l1.set(registration);
    // An invalidation arrived while the caller was reading the store: what it read may be old.
    if (this.#fenced(registration.id)) this.#l1.evictLocal(registration.id);
  }

  async invalidate(id: string): Promise<void> {
    this.#fence(id);
    await this.#l1.invalidate(id);
  }

  /** Drops the in-process entry only (what an invalidation from another instance does). */
  evictLocal(id: string): void {
    this.#fence(id);
    this.#l1.evictLocal(id);
  }

  /** Drops the whole in-process level. */
  clearLocal(): void {
    const { hits, misses } = this.#l1.stats();
    this.#retired = { hits: this.#retired.hits + hits, misses: this.#retired.misses + misses };
    this.#l1 = this.#newL1();
  }

  stats(): TwoLevelCacheStats {
    const current = this.#l1.stats();
    const hits = this.#retired.hits + current.hits;
    const misses = this.#retired.misses + current.misses;
    const total = hits + misses;
    return { hits, misses, hitRate: total === 0 ? 0 : hits / total, l2: this.l2.stats() };
  }

  /** Listens for other instances' invalidations on `subscriber`. */
  async subscribe(subscriber: Redis): Promise<void> {
    await this.#unsubscribe?.();
    this.#unsubscribe = await this.l2.subscribeInvalidations(subscriber, {
      onInvalidate: (id) => this.evictLocal(id),
      onResync: () => this.clearLocal(),
    });
  }

  /** Stops listening; the Redis connections stay the caller's to close. */
  async close(): Promise<void> {
    await this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.l2.close();
  }

  #newL1(): LruRegistrationCache {
    const l2 = this.l2;
    const next: RegistrationCache = {
      // An L2 answer that raced an invalidation is treated as a miss, so the store answers.
      get: async (id) => {
        if (this.#fenced(id)) return null;
        const found = await l2.get(id);
        return found && !this.#fenced(id) ? found : null;
      },
      set: (registration) => l2.set(registration),
      invalidate: (id) => l2.invalidate(id),
      stats: () => l2.stats(),
    };
    return new LruRegistrationCache({ ...this.#l1Options, next });
  }

  #fence(id: string): void {
    const now = Date.now();
    this.#fences.set(id, now + this.#fenceMs);
    if (this.#fences.size > 10_000) {
      for (const [fenced, until] of this.#fences) if (until <= now) this.#fences.delete(fenced);
    }
  }

  #fenced(id: string): boolean {
    const until = this.#fences.get(id);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.#fences.delete(id);
    return false;
  }
}

/**
 * Wires the two levels and subscribes to invalidations. `redis` and `subscriber` must be two
 * connections (create them with `createRedisClient`); they remain the caller's to close.
 */
export async function createTwoLevelCache(options: CreateTwoLevelCacheOptions): Promise<TwoLevelRegistrationCache> {
  const { subscriber, ...rest } = options;
  const cache = new TwoLevelRegistrationCache(rest);
  await cache.subscribe(subscriber);
  return cache;
}
