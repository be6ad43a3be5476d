import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createRedisClient,
  createTwoLevelCache,
  RedisRateLimiter,
  whenReady,
  withRedisDedupe,
} from '@webhooks/cache-redis';
import type {
  ApiKeyStore,
  DeliveryStore,
  EventPublisher,
  OutboxStore,
  RateLimiter,
  RegistrationCache,
  RegistrationStore,
  SecretBox,
  SyncQueue,
} from '@webhooks/core';
import { EventGridPublisher } from '@webhooks/eventgrid';
import {
  createAesGcmSecretBox,
  LruRegistrationCache,
  MemoryRateLimiter,
  OutboxDispatcher,
  ProviderRegistry,
  WebhookManagementService,
} from '@webhooks/service';
import { openCosmosStore } from '@webhooks/store-cosmos';
import { openSqliteStore } from '@webhooks/store-sqlite';
import { ServiceBusSyncQueue } from '@webhooks/sync-trigger';
import type { Express } from 'express';
import type { Logger } from 'pino';
import { createReceiver, type Receiver } from './app.js';
import { Authenticator } from './auth.js';
import type { Config } from './config.js';
import { ReceiverMetrics } from './metrics.js';
import { loadProviders } from './providers.js';

type Store = RegistrationStore & DeliveryStore & OutboxStore & ApiKeyStore;

export interface Runtime {
  app: Express;
  /** The request listener to serve: the receive route directly, everything else through `app`. */
  listener: Receiver['listener'];
  service: WebhookManagementService;
  auth: Authenticator;
  store: Store;
  /** What runs where, for the start-up message. */
  description: string[];
  /** Stops background work and closes every connection. */
  close(): Promise<void>;
}

export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/**
 * Builds the receiver from configuration: SQLite, the embedded queue and in-process cache and
 * limits by default; Cosmos DB, Redis, Service Bus and Event Grid when their settings are present.
 * Each configured adapter is checked now, so a wrong one fails start-up, not the first webhook.
 */
export async function createRuntime(config: Config, logger: Logger): Promise<Runtime> {
  const closers: Array<() => Promise<void> | void> = [];
  const description: string[] = [];
  try {
    const secretBox = createAesGcmSecretBox(secretKey(config));

    const store = await openStore(config, secretBox, description);
    closers.push(() => store.close());
    await check('the store', () => store.counts());

    let cache: RegistrationCache = new LruRegistrationCache();
    let rateLimiter: RateLimiter = new MemoryRateLimiter();
    let deliveries: DeliveryStore = store;
    if (config.redisUrl) {
      const redis = createRedisClient(config.redisUrl, { logger });
      const subscriber = createRedisClient(config.redisUrl, { logger });
      closers.push(
        () => void redis.disconnect(),
        () => void subscriber.disconnect(),
      );
      await check('Redis (REDIS_URL)', async () => {
        // The clients queue nothing while offline: wait for both connections before the first command.
        await Promise.all([whenReady(redis, 10_000), whenReady(subscriber, 10_000)]);
        await redis.ping();
      });
      const twoLevel = await createTwoLevelCache({ redis, subscriber, secretBox, logger });
      closers.push(() => twoLevel.close());
      cache = twoLevel;
      rateLimiter = new RedisRateLimiter({ redis, logger });
      deliveries = withRedisDedupe(store, redis);
      description.push('cache: in-process LRU + Redis, rate limits and dedupe accelerator in Redis');
    } else {
      description.push('cache: in-process LRU; rate limits per instance');
    }

    let queue: SyncQueue | undefined;
    let dispatcher: OutboxDispatcher | undefined;
    if (config.serviceBus) {
      const serviceBus = new ServiceBusSyncQueue(config.serviceBus.connectionString, config.serviceBus.queue);
      closers.push(() => serviceBus.close());
      await check(`Service Bus queue '${config.serviceBus.queue}'`, () =>
        serviceBus.verify({ abortSignal: AbortSignal.timeout(15_000) }),
      );
      queue = serviceBus;
      dispatcher = new OutboxDispatcher({
        outbox: store,
        queue,
        logger,
        retryPolicy: { backoffSeconds: config.dispatchBackoffSeconds },
      });
      description.push(`queue: Azure Service Bus '${config.serviceBus.queue}' (outbox retries while it is down)`);
    } else {
      description.push('queue: embedded (the SQLite outbox; GET /sync-tasks, or run createEmbeddedWorker)');
    }

    let publisher: EventPublisher | undefined;
    let publishDispatcher: OutboxDispatcher | undefined;
    if (config.eventGrid) {
      // Few client retries: a publish that fails waits in the outbox, with the dispatcher's backoff.
      publisher = new EventGridPublisher({
        endpoint: config.eventGrid.endpoint,
        key: config.eventGrid.key,
        retryOptions: { maxRetries: 1, retryDelayInMs: 200, maxRetryDelayInMs: 1000 },
      });
      // Events whose inline publish failed wait in the outbox; this sends them when Event Grid is back.
      publishDispatcher = new OutboxDispatcher({
        outbox: store,
        publisher,
        logger,
        retryPolicy: { backoffSeconds: config.dispatchBackoffSeconds },
      });
      description.push('events: Event Grid (outbox retries while it is down)');
    }

    const providers = new ProviderRegistry(await loadProviders(config.providerPackages));
    const service = new WebhookManagementService({
      registrations: store,
      deliveries,
      outbox: store,
      ...(queue ? { queue } : {}),
      ...(publisher ? { publisher } : {}),
      cache,
      rateLimiter,
      providers,
      publicBaseUrl: config.publicBaseUrl,
      logger,
      rateLimit: { perMinute: config.rateLimitPerMinute, floodPerMinute: config.floodLimitPerMinute },
      rotationGraceMs: config.rotationGraceMs,
      inlineSendTimeoutMs: config.inlineSendTimeoutMs,
      debugSignatures: config.debugSignatures,
    });

    const auth = new Authenticator(store, config.jwt);
    const added = await auth.bootstrap(config.apiKeys);
    if (added > 0) logger.info({ added }, 'API keys from WEBHOOKS_API_KEYS installed (stored hashed)');

    const metrics = new ReceiverMetrics({
      outboxStats: () => store.outboxStats(new Date()),
      cacheHitRate: () => cache.stats().hitRate,
    });
    const { app, listener } = createReceiver({
      service,
      auth,
      outbox: store,
      metrics,
      logger,
      publicBaseUrl: config.publicBaseUrl,
      maxBodyBytes: config.maxBodyBytes,
      adminMaxBodyBytes: config.adminMaxBodyBytes,
      trustProxy: config.trustProxy,
      readiness: async () => {
        const checks: Record<string, string> = {};
        try {
          await store.counts();
          checks.store = 'ok';
        } catch {
          checks.store = 'unavailable';
        }
        return { ready: Object.values(checks).every((c) => c === 'ok'), checks };
      },
    });

    dispatcher?.start(1000);
    publishDispatcher?.start(1000);
    closers.push(() => dispatcher?.stop());
    closers.push(() => publishDispatcher?.stop());
    // Completions of tasks sent inline are written in batches: the last one before the store closes.
    closers.push(() => service.settle());
    const prune =
      'pruneExpired' in store ? setInterval(() => void pruneQuietly(store, logger), 60 * 60_000) : undefined;
    prune?.unref();
    closers.push(() => clearInterval(prune));

    return {
      app,
      listener,
      service,
      auth,
      store,
      description,
      close: async () => {
        for (const close of closers.reverse()) await Promise.resolve(close()).catch(() => undefined);
      },
    };
  } catch (error) {
    for (const close of closers.reverse()) await Promise.resolve(close()).catch(() => undefined);
    throw error;
  }
}

export async function openStore(
  config: Config,
  secretBox: SecretBox,
  description: string[],
): Promise<Store & { close(): Promise<void> | void }> {
  if (config.cosmos) {
    const store = await check('Cosmos DB (COSMOS_ENDPOINT)', () =>
      openCosmosStore({
        endpoint: config.cosmos!.endpoint,
        key: config.cosmos!.key,
        databaseId: config.cosmos!.database,
        secretBox,
        createIfNotExists: true,
      }),
    );
    description.push(`store: Cosmos DB database '${config.cosmos.database}'`);
    return store;
  }
  mkdirSync(config.dataDir, { recursive: true });
  const store = openSqliteStore({ dataDir: config.dataDir, secretBox, synchronous: config.sqliteSynchronous });
  description.push(`store: SQLite in ${config.dataDir} (synchronous=${config.sqliteSynchronous})`);
  return store;
}

/** WEBHOOKS_SECRET_KEY, or a key generated once into the data dir (mode 0600) for the embedded default. */
export function secretKey(config: Config): Uint8Array {
  if (config.secretKey) {
    const key = /^[0-9a-f]{64}$/i.test(config.secretKey)
      ? Buffer.from(config.secretKey, 'hex')
      : Buffer.from(config.secretKey, 'base64');
    if (key.length !== 32)
      throw new StartupError('WEBHOOKS_SECRET_KEY must be 32 bytes, as 64 hex characters or base64');
    return key;
  }
  if (config.cosmos) {
    throw new StartupError(
      'WEBHOOKS_SECRET_KEY is required with Cosmos DB: every instance must seal secrets with the same key',
    );
  }
  mkdirSync(config.dataDir, { recursive: true });
  const file = join(config.dataDir, 'secret.key');
  if (!existsSync(file)) {
    writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
  }
  chmodSync(file, 0o600);
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new StartupError(`${file} does not hold a 32-byte base64 key`);
  return key;
}

async function check<T>(what: string, probe: () => Promise<T>): Promise<T> {
  try {
    return await probe();
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0]!.slice(0, 300) : 'unknown error';
    throw new StartupError(`Cannot use ${what}: ${reason}`);
  }
}

async function pruneQuietly(store: object, logger: Logger): Promise<void> {
  try {
    await (store as { pruneExpired(now?: Date): Promise<unknown> }).pruneExpired(new Date());
  } catch (error) {
    logger.warn({ err: error }, 'pruning expired records failed');
  }
}
