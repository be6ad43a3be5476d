import { randomUUID } from 'node:crypto';
import type { CacheStats, PreviousSecret, RegistrationCache, SecretBox, WebhookRegistration } from '@webhooks/core';
import type { ServiceLogger } from '@webhooks/service';
import type { Redis } from 'ioredis';
import { FailureLog, silentLogger } from './failure-log.js';
import { LuaScript } from './lua-script.js';

const DAY_MS = 24 * 60 * 60_000;

export interface RedisRegistrationCacheOptions {
  /** The command connection (pub/sub needs a second one: see `subscribeInvalidations`). */
  redis: Redis;
  /**
   * Seals the registration's secrets before they reach Redis. Use the store's box (or one with
   * its own key): Redis then holds only ciphertext, and an entry sealed under another key is a miss.
   */
  secretBox: SecretBox;
  /** Prefix of every key and of the channel; `webhooks:` by default. */
  keyPrefix?: string;
  /** Time to live of an entry; the spec's 24 hours by default. */
  ttlMs?: number;
  /**
   * After an invalidation, fills of that id are refused for this long, so that a reader that
   * fetched the old registration from the store just before the change cannot put it back for
   * 24 hours. 5 s by default: far longer than a store read, short enough to cost nothing.
   */
  fenceMs?: number;
  /** Names this instance in invalidation messages, so it can skip its own. Random by default. */
  instanceId?: string;
  logger?: ServiceLogger;
}

export interface RedisCacheStats extends CacheStats {
  /** Calls that failed because Redis was unreachable (counted as misses too). */
  errors: number;
}

export interface InvalidationMessage {
  id: string;
  from: string;
}

export interface InvalidationHandlers {
  /** Another instance changed or deleted this registration. */
  onInvalidate(id: string): void;
  /**
   * The subscription came back after a disconnection, during which messages may have been lost
   * (pub/sub is at most once): drop everything cached locally.
   */
  onResync?(): void;
}

// Refuses to fill an entry while its invalidation fence stands (see `fenceMs`).
const SET_UNLESS_FENCED = new LuaScript(`
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`);

/**
 * The second level of the registration cache: JSON in Redis for 24 hours, secrets sealed with a
 * SecretBox, and invalidation broadcast over pub/sub. Never throws: when Redis is unreachable a get
 * is a miss (the caller falls back to the store) and a set or an invalidation is logged and
 * dropped; invalidations that could not be sent are sent again when the connection is back.
 */
export class RedisRegistrationCache implements RegistrationCache {
  readonly instanceId: string;
  readonly channel: string;
  readonly #redis: Redis;
  readonly #box: SecretBox;
  readonly #prefix: string;
  readonly #ttlMs: number;
  readonly #fenceMs: number;
  readonly #failures: FailureLog;
  readonly #log: ServiceLogger;
  /** Invalidations Redis did not take; sent again on the next `ready`. */
  readonly #unsent = new Set<string>();
  readonly #onReady = () => void this.#resendInvalidations();
  #hits = 0;
  #misses = 0;
  #errors = 0;

  constructor(options: RedisRegistrationCacheOptions) {
    this.#redis = options.redis;
    this.#box = options.secretBox;
    this.#prefix = options.keyPrefix ?? 'webhooks:';
    this.#ttlMs = options.ttlMs ?? DAY_MS;
    this.#fenceMs = options.fenceMs ?? 5000;
    this.instanceId = options.instanceId ?? randomUUID();
    this.channel = `${this.#prefix}registration-invalidations`;
    this.#log = options.logger ?? silentLogger;
    this.#failures = new FailureLog(this.#log, 'registration cache');
    this.#redis.on('ready', this.#onReady);
  }

  /** The Redis key of a registration (the hash tag keeps it in the slot of its fence on a cluster). */
  key(id: string): string {
    return `${this.#prefix}registration:{${id}}`;
  }

  async get(id: string): Promise<WebhookRegistration | null> {
    let raw: string | null;
    try {
      raw = await this.#redis.get(this.key(id));
      this.#failures.succeeded();
    } catch (error) {
      this.#errors++;
      this.#misses++;
      this.#failures.failed(error);
      return null;
    }
    const registration = raw === null ? null : this.#decode(id, raw);
    if (registration) this.#hits++;
    else this.#misses++;
    return registration;
  }

  async set(registration: WebhookRegistration): Promise<void> {
    try {
      const value = this.#encode(registration);
      await SET_UNLESS_FENCED.run(
        this.#redis,
        [this.key(registration.id), this.#fenceKey(registration.id)],
        [value, this.#ttlMs],
      );
      this.#failures.succeeded();
    } catch (error) {
      this.#errors++;
      this.#failures.failed(error);
    }
  }

  /**
   * Fences and deletes the entry and tells the other instances, in one transaction. If Redis is
   * unreachable the id is kept and sent when it is back; until then another instance may serve the
   * old registration from its in-process level, for at most that level's TTL (5 minutes).
   */
  async invalidate(id: string): Promise<void> {
    this.#unsent.delete(id);
    try {
      await this.#invalidateInRedis(id);
      this.#failures.succeeded();
    } catch (error) {
      this.#errors++;
      this.#unsent.add(id);
      this.#failures.failed(error);
    }
  }

  stats(): RedisCacheStats {
    const total = this.#hits + this.#misses;
    return {
      hits: this.#hits,
      misses: this.#misses,
      hitRate: total === 0 ? 0 : this.#hits / total,
      errors: this.#errors,
    };
  }

  /** Ids whose invalidation is waiting for Redis to come back. */
  pendingInvalidations(): string[] {
    return [...this.#unsent];
  }

  /**
   * Listens for other instances' invalidations on `subscriber` (a connection of its own: a
   * subscribed connection can run nothing else). Messages this instance sent are skipped: it has
   * already dropped its own entry. Resolves once the first SUBSCRIBE was tried; ioredis subscribes
   * again after every reconnect. Returns a function that stops listening.
   */
  async subscribeInvalidations(subscriber: Redis, handlers: InvalidationHandlers): Promise<() => Promise<void>> {
    let disconnected = false;
    const subscribe = async () => {
      try {
        await subscriber.subscribe(this.channel);
      } catch (error) {
        this.#failures.failed(error);
      }
    };
    const onMessage = (channel: string, message: string) => {
      if (channel !== this.channel) return;
      const parsed = parseInvalidation(message);
      if (!parsed || parsed.from === this.instanceId) return;
      handlers.onInvalidate(parsed.id);
    };
    const onClose = () => {
      disconnected = true;
    };
    const onReady = () => {
      // A SUBSCRIBE that failed at start is retried here; a repeated one is harmless.
      void subscribe();
      if (disconnected) {
        disconnected = false;
        handlers.onResync?.();
      }
    };
    subscriber.on('message', onMessage);
    subscriber.on('close', onClose);
    subscriber.on('ready', onReady);
    if (subscriber.status === 'ready') await subscribe();
    return async () => {
      subscriber.off('message', onMessage);
      subscriber.off('close', onClose);
      subscriber.off('ready', onReady);
      await subscriber.unsubscribe(this.channel).catch(() => undefined);
    };
  }

  /** Stops resending invalidations on reconnect; the connections stay the caller's to close. */
  close(): void {
    this.#redis.off('ready', this.#onReady);
  }

  #fenceKey(id: string): string {
    return `${this.#prefix}registration-fence:{${id}}`;
  }

  async #invalidateInRedis(id: string): Promise<void> {
    const message: InvalidationMessage = { id, from: this.instanceId };
    const results = await this.#redis
      .multi()
      .set(this.#fenceKey(id), '1', 'PX', this.#fenceMs)
      .del(this.key(id))
      .publish(this.channel, JSON.stringify(message))
      .exec();
    const failed = results?.find(([error]) => error !== null);
    if (!results || failed) throw failed?.[0] ?? new Error('redis transaction aborted');
  }

  async #resendInvalidations(): Promise<void> {
    for (const id of [...this.#unsent]) {
      try {
        await this.#invalidateInRedis(id);
        this.#unsent.delete(id);
      } catch (error) {
        this.#failures.failed(error);
        return;
      }
    }
  }

  #encode(registration: WebhookRegistration): string {
    const { webhookSecret, previousSecrets, ...rest } = registration;
    // One sealed bundle for all secrets: Redis never holds one in plain text.
    const sealed = this.#box.seal(JSON.stringify({ webhookSecret, previousSecrets: previousSecrets ?? null }));
    return JSON.stringify({ v: 1, registration: rest, secrets: sealed });
  }

  #decode(id: string, raw: string): WebhookRegistration | null {
    try {
      const entry = JSON.parse(raw) as { v?: number; registration?: Record<string, unknown>; secrets?: string };
      if (entry.v !== 1 || !entry.registration || typeof entry.secrets !== 'string' || entry.registration.id !== id)
        return null;
      const secrets = JSON.parse(this.#box.open(entry.secrets)) as {
        webhookSecret: string;
        previousSecrets: Array<{ secret: string; expiresAt: string }> | null;
      };
      const registration = {
        ...entry.registration,
        webhookSecret: secrets.webhookSecret,
        createdAt: new Date(entry.registration.createdAt as string),
        updatedAt: new Date(entry.registration.updatedAt as string),
      } as WebhookRegistration;
      if (secrets.previousSecrets) {
        registration.previousSecrets = secrets.previousSecrets.map(
          (p): PreviousSecret => ({ secret: p.secret, expiresAt: new Date(p.expiresAt) }),
        );
      }
      return registration;
    } catch (error) {
      // Sealed under another key, or not ours: a miss, so the store answers. Only the error's name is
      // logged: a parse error's message quotes its input.
      this.#log.warn(
        { registrationId: id, err: error instanceof Error ? error.name : 'invalid' },
        'unreadable cache entry',
      );
      return null;
    }
  }
}

function parseInvalidation(message: string): InvalidationMessage | null {
  try {
    const parsed = JSON.parse(message) as Partial<InvalidationMessage>;
    return typeof parsed.id === 'string' && typeof parsed.from === 'string'
      ? { id: parsed.id, from: parsed.from }
      : null;
  } catch {
    return null;
  }
}
