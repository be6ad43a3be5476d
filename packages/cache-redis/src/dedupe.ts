import type {
  ClaimResult,
  DedupeCommit,
  DeliveryRecord,
  DeliveryStore,
  FreshAppend,
  FreshAppendResult,
  NewOutboxTask,
} from '@webhooks/core';
import type { ServiceLogger } from '@webhooks/service';
import type { Redis } from 'ioredis';
import { FailureLog, silentLogger } from './failure-log.js';

export interface RedisDedupeOptions {
  keyPrefix?: string;
  /**
   * @deprecated Ignored: a key now expires with the claim the store committed (`commit.expiresAt`
   * of the append), which is always known.
   */
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
 * Remembers in Redis the dedupe keys whose claims the store has COMMITTED (an append that stored
 * their delivery, with `commit`), so that repeats are answered 'duplicate' without a store round
 * trip. Redis only ever says "certainly a duplicate": a key is written after that append succeeded,
 * never at claim time. A marker written at claim time (SET NX) would outlive a claim that was never
 * committed (the process crashed, or the store failed and the answer was 503), and the provider's
 * retry would then be taken for a duplicate: an event lost. Anything Redis does not know, or
 * cannot answer, goes to the store, which alone tells 'claimed' from 'in_progress'.
 */
export class RedisDedupeAccelerator {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #failures: FailureLog;
  #fastDuplicates = 0;
  #storeDecisions = 0;
  #errors = 0;

  constructor(redis: Redis, options: RedisDedupeOptions = {}) {
    this.#redis = redis;
    this.#prefix = options.keyPrefix ?? 'webhooks:';
    this.#failures = new FailureLog(options.logger ?? silentLogger, 'dedupe accelerator');
  }

  key(registrationId: string, key: string): string {
    return `${this.#prefix}dedupe:{${registrationId}}:${key}`;
  }

  async claim(
    store: DeliveryStore,
    registrationId: string,
    key: string,
    leaseMs: number,
    now: Date,
  ): Promise<ClaimResult> {
    try {
      const known = await this.#redis.exists(this.key(registrationId, key));
      this.#failures.succeeded();
      if (known === 1) {
        this.#fastDuplicates++;
        return 'duplicate';
      }
    } catch (error) {
      this.#errors++;
      this.#failures.failed(error);
    }
    this.#storeDecisions++;
    return store.claimDedupeKey(registrationId, key, leaseMs, now);
  }

  async release(store: DeliveryStore, registrationId: string, key: string): Promise<void> {
    await store.releaseDedupeKey(registrationId, key);
    try {
      await this.#redis.del(this.key(registrationId, key));
    } catch (error) {
      this.#errors++;
      this.#failures.failed(error);
    }
  }

  async append(
    store: DeliveryStore,
    record: DeliveryRecord,
    tasks?: NewOutboxTask[],
    commit?: DedupeCommit,
  ): Promise<void> {
    const started = Date.now();
    await store.append(record, tasks, commit);
    // Only committed claims are certain duplicates; an append without `commit` (a duplicate or a
    // rejection) stores keys that may belong to a claim still pending, or none.
    if (commit) await this.#remember(record, commit, started);
  }

  /**
   * The store's one-write append, when it has one. A key Redis already knows is a certain
   * duplicate: answered 'conflict' without asking the store, so the caller's claim (answered from
   * Redis too) says 'duplicate'. Otherwise the store decides, and what it stored is remembered.
   */
  async appendFresh(
    store: DeliveryStore & Required<Pick<DeliveryStore, 'appendFresh'>>,
    record: DeliveryRecord,
    tasks: NewOutboxTask[],
    fresh: FreshAppend,
  ): Promise<FreshAppendResult> {
    const started = Date.now();
    if (await this.#knowsAny(record.registrationId, fresh.commit.keys)) return { status: 'conflict', counted: false };
    const result = await store.appendFresh(record, tasks, fresh);
    if (result.status === 'stored') await this.#remember(record, fresh.commit, started);
    return result;
  }

  async #knowsAny(registrationId: string, keys: string[]): Promise<boolean> {
    if (keys.length === 0) return false;
    try {
      const known = await this.#redis.exists(...keys.map((key) => this.key(registrationId, key)));
      this.#failures.succeeded();
      // Not counted as a fast duplicate here: the caller's claim, answered from Redis, counts it.
      return known > 0;
    } catch (error) {
      this.#errors++;
      this.#failures.failed(error);
      return false;
    }
  }

  async #remember(record: DeliveryRecord, commit: DedupeCommit, started: number): Promise<void> {
    if (commit.keys.length === 0) return;
    // Expire with the store's claim, not later: it runs from when the delivery arrived, by the
    // service's clock, until `expiresAt`.
    const ttlMs = commit.expiresAt.getTime() - record.receivedAt.getTime() - (Date.now() - started);
    if (!(ttlMs > 0)) return;
    const pipeline = this.#redis.pipeline();
    for (const dedupeKey of commit.keys)
      pipeline.set(this.key(record.registrationId, dedupeKey), '1', 'PX', Math.floor(ttlMs));
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
 * duplicates from Redis and asks the store about everything else; `append` records the keys it
 * committed; `releaseDedupeKey` frees the claim in both. Every other member is the store's
 * own, so the result can stand in for the store wherever it is used.
 */
export function withRedisDedupe<T extends DeliveryStore>(
  store: T,
  redis: Redis | RedisDedupeAccelerator,
  options: RedisDedupeOptions = {},
): T {
  const accelerator = redis instanceof RedisDedupeAccelerator ? redis : new RedisDedupeAccelerator(redis, options);
  const overrides: Pick<DeliveryStore, 'claimDedupeKey' | 'releaseDedupeKey' | 'append' | 'appendFresh'> = {
    claimDedupeKey: (registrationId, key, leaseMs, now) => accelerator.claim(store, registrationId, key, leaseMs, now),
    releaseDedupeKey: (registrationId, key) => accelerator.release(store, registrationId, key),
    append: (record, tasks, commit) => accelerator.append(store, record, tasks, commit),
  };
  // Only when the store has it: a store without the one-write append keeps the two-phase path.
  const appendFresh = store.appendFresh;
  if (typeof appendFresh === 'function') {
    const withFresh = store as T & Required<Pick<DeliveryStore, 'appendFresh'>>;
    overrides.appendFresh = (record, tasks, fresh) => accelerator.appendFresh(withFresh, record, tasks, fresh);
  }
  return new Proxy(store, {
    get(target, property) {
      if (Object.hasOwn(overrides, property)) return overrides[property as keyof typeof overrides];
      if (property === 'appendFresh') return undefined;
      const value: unknown = Reflect.get(target, property, target);
      // Bound to the store itself: its methods may use private fields, which a proxy does not have.
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
