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
