import type { DeliveryRecord, DeliveryStore, NewOutboxTask } from '@webhooks/core';
import type { ServiceLogger } from '@webhooks/service';
import type { Redis } from 'ioredis';
import { FailureLog, silentLogger } from './failure-log.js';

const WEEK_MS = 7 * 24 * 60 * 60_000;

export interface RedisDedupeOptions {
  keyPrefix?: string;
  /** Used when a stored delivery's claim TTL is not known (it is, for claims made through the decorator). */
  defaultTtlMs?: number;
  logger?: ServiceLogger;
}

export interface RedisDedupeStats {
  /** Duplicates answered from Redis without asking the store. */
  fastDuplicates: number;
  /** Claims the store decided (Redis did not know the key, or was unreachable). */
  storeDecisions: number;
  /** Redis calls that failed (each fell back to the store). */
  errors: number;
}

/**
 * Remembers in Redis the dedupe keys of deliveries the store has durably accepted, so that repeats
 * are answered without a store round trip. Redis only ever says "certainly a duplicate": a key is
 * written after the store appended its delivery, never at claim time. A marker written at claim
 * time (SET NX) would outlive a claim that the store later released (the store failed, the answer
 * was 503), if deleting it failed too, and the provider's retry would then be taken for a
 * duplicate: an event lost. Anything Redis does not know, or cannot answer, goes to the store.
 */
export class RedisDedupeAccelerator {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #defaultTtlMs: number;
  readonly #failures: FailureLog;
  /** TTLs of claims the store granted, until their delivery is appended or the claim released. */
  readonly #claims = new Map<string, { ttlMs: number; claimedAt: number }>();
  #fastDuplicates = 0;
  #storeDecisions = 0;
  #errors = 0;

  constructor(redis: Redis, options: RedisDedupeOptions = {}) {
    this.#redis = redis;
    this.#prefix = options.keyPrefix ?? 'webhooks:';
    this.#defaultTtlMs = options.defaultTtlMs ?? WEEK_MS;
    this.#failures = new FailureLog(options.logger ?? silentLogger, 'dedupe accelerator');
  }

  key(registrationId: string, key: string): string {
    return `${this.#prefix}dedupe:{${registrationId}}:${key}`;
  }

  async claim(store: DeliveryStore, registrationId: string, key: string, ttlMs: number, now: Date): Promise<boolean> {
    try {
      const known = await this.#redis.exists(this.key(registrationId, key));
      this.#failures.succeeded();
      if (known === 1) {
        this.#fastDuplicates++;
        return false;
      }
    } catch (error) {
      this.#errors++;
      this.#failures.failed(error);
    }
    this.#storeDecisions++;
    const claimed = await store.claimDedupeKey(registrationId, key, ttlMs, now);
    if (claimed) {
      const id = this.key(registrationId, key);
      this.#claims.delete(id);
      this.#claims.set(id, { ttlMs, claimedAt: Date.now() });
      // Claims are forgotten on append or release; the cap only guards against a caller that does neither.
      if (this.#claims.size > 10_000) this.#claims.delete(this.#claims.keys().next().value as string);
    }
    return claimed;
  }

  async release(store: DeliveryStore, registrationId: string, key: string): Promise<void> {
    const id = this.key(registrationId, key);
    this.#claims.delete(id);
    await store.releaseDedupeKey(registrationId, key);
    try {
      await this.#redis.del(id);
    } catch (error) {
      this.#errors++;
      this.#failures.failed(error);
    }
  }

  async append(store: DeliveryStore, record: DeliveryRecord, tasks?: NewOutboxTask[]): Promise<void> {
    await store.append(record, tasks);
    // Only these outcomes mean "this delivery's claims are durably its own"; a 'duplicate' record
    // lists keys another request claimed, which may yet be released.
    if (record.outcome !== 'accepted' && record.outcome !== 'queued') return;
    if (record.dedupeKeys.length === 0) return;
    const pipeline = this.#redis.pipeline();
    for (const dedupeKey of record.dedupeKeys) {
      const id = this.key(record.registrationId, dedupeKey);
      const claim = this.#claims.get(id);
      this.#claims.delete(id);
      // Expire with the store's claim, not later: after that the store would accept it again.
      const ttlMs = claim ? claim.ttlMs - (Date.now() - claim.claimedAt) : this.#defaultTtlMs;
      if (ttlMs > 0) pipeline.set(id, '1', 'PX', Math.floor(ttlMs));
    }
    try {
      const results = await pipeline.exec();
      const failed = results?.find(([error]) => error !== null);
      if (failed) throw failed[0];
      this.#failures.succeeded();
    } catch (error) {
      this.#errors++;
      this.#failures.failed(error);
    }
  }

  stats(): RedisDedupeStats {
    return { fastDuplicates: this.#fastDuplicates, storeDecisions: this.#storeDecisions, errors: this.#errors };
  }
}

/**
 * Puts a RedisDedupeAccelerator in front of `store`'s dedupe: `claimDedupeKey` answers known
 * duplicates from Redis and asks the store about everything else; `append` records accepted
 * deliveries' keys; `releaseDedupeKey` frees the claim in both. Every other member is the store's
 * own, so the result can stand in for the store wherever it is used.
 */
export function withRedisDedupe<T extends DeliveryStore>(
  store: T,
  redis: Redis | RedisDedupeAccelerator,
  options: RedisDedupeOptions = {},
): T {
  const accelerator = redis instanceof RedisDedupeAccelerator ? redis : new RedisDedupeAccelerator(redis, options);
  const overrides: Pick<DeliveryStore, 'claimDedupeKey' | 'releaseDedupeKey' | 'append'> = {
    claimDedupeKey: (registrationId, key, ttlMs, now) => accelerator.claim(store, registrationId, key, ttlMs, now),
    releaseDedupeKey: (registrationId, key) => accelerator.release(store, registrationId, key),
    append: (record, tasks) => accelerator.append(store, record, tasks),
  };
  return new Proxy(store, {
    get(target, property) {
      if (Object.hasOwn(overrides, property)) return overrides[property as keyof typeof overrides];
      const value: unknown = Reflect.get(target, property, target);
      // Bound to the store itself: its methods may use private fields, which a proxy does not have.
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
