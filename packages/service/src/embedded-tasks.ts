import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock, OutboxStatus, OutboxStore, SyncTask } from '@webhooks/core';
import { systemClock } from '@webhooks/core';

/** A task taken from the embedded queue: settle it with `ack` or `retry`, or its lease lapses and it comes back. */
export interface EmbeddedTask {
  task: SyncTask;
  messageId: string;
  /** 1 on the first delivery. */
  attempt: number;
  ack(): Promise<void>;
  /** Due again after backoff; dead once its attempts are used up. */
  retry(error?: unknown): Promise<OutboxStatus>;
}

export interface EmbeddedTasksOptions {
  signal?: AbortSignal;
  clock?: Clock;
  /** Tasks claimed per round. */
  batchSize?: number;
  /** How long a yielded task is the consumer's before it is handed out again. */
  leaseMs?: number;
  /** Wait between rounds that found nothing. */
  pollMs?: number;
  /** The n-th retry waits backoffSeconds * 2^(n-1), capped at maxBackoffSeconds. */
  backoffSeconds?: number;
  maxBackoffSeconds?: number;
}

/**
 * The embedded queue as an async iterator, for sync workers that prefer a loop to a handler:
 * `for await (const t of embeddedTasks(store, { signal })) { await sync(t.task); await t.ack(); }`.
 * Delivery is at least once: a task that is neither acked nor retried returns when its lease ends.
 */
export async function* embeddedTasks(
  outbox: OutboxStore,
  options: EmbeddedTasksOptions = {},
): AsyncGenerator<EmbeddedTask> {
  const clock = options.clock ?? systemClock;
  const batchSize = options.batchSize ?? 100;
  const leaseMs = options.leaseMs ?? 30_000;
  const pollMs = options.pollMs ?? 1000;
  const backoffSeconds = options.backoffSeconds ?? 30;
  const maxBackoffSeconds = options.maxBackoffSeconds ?? 3600;
  while (!options.signal?.aborted) {
    const claimed = await outbox.claimDue(new Date(clock.now()), batchSize, leaseMs);
    for (const task of claimed) {
      if (options.signal?.aborted) return;
      yield {
        task: task.task,
        messageId: task.messageId,
        attempt: task.attempts + 1,
        ack: () => outbox.complete(task.id),
        retry: (error) => {
          const wait = Math.min(backoffSeconds * 2 ** task.attempts, maxBackoffSeconds);
          const message = error instanceof Error ? error.message.slice(0, 500) : 'retried by the consumer';
          return outbox.retry(task.id, message, new Date(clock.now() + wait * 1000));
        },
      };
    }
    if (claimed.length === 0) {
      try {
        await sleep(pollMs, undefined, options.signal ? { signal: options.signal } : {});
      } catch {
        return;
      }
    }
  }
}
