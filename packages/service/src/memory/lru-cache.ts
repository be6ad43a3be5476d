import type { CacheStats, RegistrationCache, WebhookRegistration } from '@webhooks/core';
import { LRUCache } from 'lru-cache';

export interface LruRegistrationCacheOptions {
  /** Entries kept; the spec's 1000 by default. */
  max?: number;
  /** Time to live; the spec's 5 minutes by default. */
  ttlMs?: number;
  /** A second level (Redis) consulted on a miss and filled on a set. */
  next?: RegistrationCache;
}

/** The in-process level of the registration cache: an LRU of 1000 entries for 5 minutes. */
export class LruRegistrationCache implements RegistrationCache {
  readonly #lru: LRUCache<string, WebhookRegistration>;
  readonly #next: RegistrationCache | undefined;
  #hits = 0;
  #misses = 0;

  constructor(options: LruRegistrationCacheOptions = {}) {
    this.#lru = new LRUCache({ max: options.max ?? 1000, ttl: options.ttlMs ?? 5 * 60_000 });
    this.#next = options.next;
  }

  /** The entry, without a promise and without asking the second level; a hit is counted. */
  getLocal(id: string): WebhookRegistration | undefined {
    const found = this.#lru.get(id);
    if (found !== undefined) this.#hits++;
    return found;
  }

  async get(id: string): Promise<WebhookRegistration | null> {
    const found = this.getLocal(id);
    if (found !== undefined) return found;
    const fromNext = this.#next ? await this.#next.get(id) : null;
    if (fromNext) {
      this.#hits++;
      this.#lru.set(id, fromNext);
      return fromNext;
    }
    this.#misses++;
    return null;
  }

  async set(registration: WebhookRegistration): Promise<void> {
    // A copy, so that a caller changing its object later cannot change what is served.
    this.#lru.set(registration.id, structuredClone(registration));
    await this.#next?.set(registration);
  }

  async invalidate(id: string): Promise<void> {
    this.#lru.delete(id);
    await this.#next?.invalidate(id);
  }

  /** Drops the local entry only: what an invalidation message from another instance does. */
  evictLocal(id: string): void {
    this.#lru.delete(id);
  }

  stats(): CacheStats {
    const total = this.#hits + this.#misses;
    return { hits: this.#hits, misses: this.#misses, hitRate: total === 0 ? 0 : this.#hits / total };
  }
}
