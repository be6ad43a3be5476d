import type { ServiceLogger } from '@webhooks/service';
import { Redis, type RedisOptions } from 'ioredis';
import { FailureLog, silentLogger } from './failure-log.js';

/**
 * Options under which every command fails fast while Redis is unreachable, so the receive path
 * degrades to the store instead of waiting: no offline queue (a command sent while disconnected is
 * refused at once), no per-command retries (commands in flight when the connection drops are
 * rejected on the first close), a command timeout for a Redis that hangs rather than dies, and a
 * reconnect loop that never gives up.
 */
export function redisClientOptions(overrides: RedisOptions = {}): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 500,
    connectTimeout: 2000,
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 6), 2000),
    ...overrides,
  };
}

export interface CreateRedisClientOptions extends RedisOptions {
  /** Connection errors are logged here, at most every few seconds, instead of as unhandled events. */
  logger?: ServiceLogger;
}

/** An ioredis client with `redisClientOptions()`; use two: one for commands, one for pub/sub. */
export function createRedisClient(url: string, options: CreateRedisClientOptions = {}): Redis {
  const { logger, ...overrides } = options;
  const client = new Redis(url, redisClientOptions(overrides));
  const failures = new FailureLog(logger ?? silentLogger, 'redis connection');
  // Without a listener ioredis prints every reconnect failure as an unhandled error event.
  client.on('error', (error: unknown) => failures.failed(error));
  client.on('ready', () => failures.succeeded());
  return client;
}

/**
 * Resolves when the client is connected and ready for commands; rejects at the first connection
 * error, after `timeoutMs`, or when the client gives up. Clients made by
 * `createRedisClient` do not queue commands while offline, so a check at start-up must wait for
 * this first: a PING sent right after creating the client fails with "Stream isn't writeable".
 */
export function whenReady(client: Redis, timeoutMs = 10_000): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    let lastError: unknown;
    const cleanup = (): void => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
      client.off('end', onEnd);
    };
    const onReady = (): void => {
      cleanup();
      resolve();
    };
    // The first failure to connect is the answer: a start-up check should say what is wrong now,
    // not after every reconnect attempt of the timeout.
    const onError = (error: unknown): void => {
      lastError = error;
      cleanup();
      reject(new Error(`Redis not reachable${reason(error)}`));
    };
    const onEnd = (): void => {
      cleanup();
      reject(new Error(`Redis connection closed${reason(lastError)}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis not ready within ${timeoutMs} ms${reason(lastError)}`));
    }, timeoutMs);
    client.on('ready', onReady);
    client.on('error', onError);
    client.on('end', onEnd);
  });
}

function reason(error: unknown): string {
  return error instanceof Error ? `: ${error.message}` : '';
}
