import type { Clock, OutboxStore, OutboxTask, RetryPolicy, SyncQueue, SyncTask } from '@webhooks/core';
import { systemClock } from '@webhooks/core';
import type { ServiceLogger } from './service.js';

/** Runs one sync task taken from the embedded queue. */
export type SyncTaskHandler = (task: SyncTask, context: { messageId: string; attempt: number }) => Promise<void>;

export interface OutboxDispatcherOptions {
  outbox: OutboxStore;
  /** Where tasks are sent; or give `handler` to run them here (the embedded queue). */
  queue?: SyncQueue;
  handler?: SyncTaskHandler;
  clock?: Clock;
  logger?: ServiceLogger;
  /** Tasks claimed per round. */
  batchSize?: number;
  /** How long a claimed task is ours before another dispatcher may take it. */
  leaseMs?: number;
  /** Backoff base; the n-th retry waits backoffSeconds * 2^(n-1), capped at maxBackoffSeconds. */
  retryPolicy?: Pick<RetryPolicy, 'backoffSeconds'>;
  maxBackoffSeconds?: number;
}

export interface DispatchRound {
  claimed: number;
  sent: number;
  retried: number;
  dead: number;
}

/**
 * Moves sync tasks from the durable outbox to the queue: claims due tasks with a lease, enqueues
 * each with its stable message id (so a task sent twice after a crash is dropped by the queue's
 * duplicate detection), completes it, or retries it with exponential backoff until it is dead.
 */
export class OutboxDispatcher {
  readonly #outbox: OutboxStore;
  readonly #send: (task: OutboxTask) => Promise<void>;
  readonly #clock: Clock;
  readonly #log: ServiceLogger | undefined;
  readonly #batchSize: number;
  readonly #leaseMs: number;
  readonly #backoffSeconds: number;
  readonly #maxBackoffSeconds: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(options: OutboxDispatcherOptions) {
    this.#outbox = options.outbox;
    const { queue, handler } = options;
    if ((queue === undefined) === (handler === undefined))
      throw new TypeError('Give the dispatcher a queue or a handler');
    this.#send = handler
      ? (task) => handler(task.task, { messageId: task.messageId, attempt: task.attempts + 1 })
      : (task) => queue!.enqueue(task.task, { messageId: task.messageId });
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger;
    this.#batchSize = options.batchSize ?? 100;
    this.#leaseMs = options.leaseMs ?? 30_000;
    this.#backoffSeconds = options.retryPolicy?.backoffSeconds ?? 30;
    this.#maxBackoffSeconds = options.maxBackoffSeconds ?? 3600;
  }

  async runOnce(): Promise<DispatchRound> {
    const now = new Date(this.#clock.now());
    const tasks = await this.#outbox.claimDue(now, this.#batchSize, this.#leaseMs);
    const round: DispatchRound = { claimed: tasks.length, sent: 0, retried: 0, dead: 0 };
    for (const task of tasks) {
      try {
        await this.#send(task);
        await this.#outbox.complete(task.id);
        round.sent++;
      } catch (error) {
        const message = error instanceof Error ? error.message.slice(0, 500) : 'enqueue failed';
        const wait = Math.min(this.#backoffSeconds * 2 ** task.attempts, this.#maxBackoffSeconds);
        const status = await this.#outbox.retry(task.id, message, new Date(this.#clock.now() + wait * 1000));
        if (status === 'dead') {
          round.dead++;
          this.#log?.error({ messageId: task.messageId, attempts: task.attempts + 1 }, 'sync task dead-lettered');
        } else {
          round.retried++;
        }
      }
    }
    return round;
  }

  /** Runs rounds every `intervalMs` (immediately again while rounds come back full). */
  start(intervalMs = 1000): void {
    if (this.#timer) return;
    const tick = async (): Promise<void> => {
      let round: DispatchRound;
      do {
        round = await this.runOnce().catch((error: unknown) => {
          this.#log?.warn({ err: error instanceof Error ? error.message : String(error) }, 'dispatch round failed');
          return { claimed: 0, sent: 0, retried: 0, dead: 0 };
        });
      } while (round.claimed === this.#batchSize && this.#timer);
    };
    this.#timer = setInterval(() => {
      this.#running ??= tick().finally(() => {
        this.#running = undefined;
      });
    }, intervalMs);
    this.#timer.unref();
  }

  /** Stops scheduling rounds and waits for the one in progress. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}

export interface EmbeddedWorkerOptions extends Omit<OutboxDispatcherOptions, 'queue' | 'handler'> {
  /** Runs one sync task; a throw means "try again later" (with backoff, then dead-letter). */
  handler: SyncTaskHandler;
}

/**
 * The consumer side of the embedded queue: on one machine the outbox is the queue, and this runs
 * your sync handler on each task, with leases, retries with backoff and dead-lettering.
 */
export function createEmbeddedWorker(options: EmbeddedWorkerOptions): OutboxDispatcher {
  return new OutboxDispatcher(options);
}
