import type {
  Clock,
  EventPublisher,
  OutboxStore,
  OutboxTask,
  OutboxTaskKind,
  PublishedEvent,
  RetryPolicy,
  SyncQueue,
  SyncTask,
} from '@webhooks/core';
import { systemClock } from '@webhooks/core';
import type { ServiceLogger } from './service.js';

/** Runs one sync task taken from the embedded queue. */
export type SyncTaskHandler = (task: SyncTask, context: { messageId: string; attempt: number }) => Promise<void>;

export interface OutboxDispatcherOptions {
  outbox: OutboxStore;
  /**
   * Exactly one of: `queue`, where sync tasks are sent; `handler`, which runs sync tasks here (the
   * embedded queue); `publisher`, which takes the outbox's publish tasks (`webhook.received` events
   * whose inline publish failed, for Event Grid).
   */
  queue?: SyncQueue;
  handler?: SyncTaskHandler;
  publisher?: EventPublisher;
  clock?: Clock;
  logger?: ServiceLogger;
  /** Tasks claimed per round. */
  batchSize?: number;
  /**
   * Send each round with the queue's `enqueueBatch` when it has one (default true): one round trip
   * per batch instead of one per task. When a batch send fails the round falls back to one send
   * per task, so one bad task does not hold back the rest.
   */
  batchSends?: boolean;
  /**
   * Sending to a queue, this many failed sends in a row with none succeeding in the round mean the
   * queue is down: the round's remaining tasks are retried with backoff without trying each one
   * (each try would wait out the client's own retries). Default 3; 0 tries every task.
   */
  queueDownAfter?: number;
  /** How long a claimed task is ours before another dispatcher may take it. */
  leaseMs?: number;
  /** Backoff base; the n-th retry waits backoffSeconds * 2^(n-1), capped at maxBackoffSeconds. */
  retryPolicy?: Pick<RetryPolicy, 'backoffSeconds'>;
  maxBackoffSeconds?: number;
}

export interface DispatchRound {
  claimed: number;
  /** Tasks the queue (or handler) accepted. */
  sent: number;
  retried: number;
  dead: number;
  /** Successful `enqueueBatch` calls (0 when the round was sent task by task). */
  batches: number;
}

function emptyRound(claimed = 0): DispatchRound {
  return { claimed, sent: 0, retried: 0, dead: 0, batches: 0 };
}

/**
 * Moves sync tasks from the durable outbox to the queue: claims due tasks with a lease, enqueues
 * them with their stable message ids (so a task sent twice after a crash is dropped by the queue's
 * duplicate detection), completes them, or retries each failed one with exponential backoff until
 * it is dead. With a queue that has `enqueueBatch`, a round goes out as one batch call; if that
 * fails, task by task.
 */
export class OutboxDispatcher {
  readonly #outbox: OutboxStore;
  readonly #kind: OutboxTaskKind;
  readonly #send: (task: OutboxTask) => Promise<void>;
  readonly #sendBatch: ((tasks: OutboxTask[]) => Promise<void>) | undefined;
  readonly #queueDownAfter: number;
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
    const { queue, handler, publisher } = options;
    if ([queue, handler, publisher].filter((sink) => sink !== undefined).length !== 1)
      throw new TypeError('Give the dispatcher one of a queue, a handler or a publisher');
    this.#kind = publisher ? 'publish' : 'sync';
    if (publisher) {
      this.#send = (task) => publisher.publish([eventOf(task)]);
      this.#sendBatch = options.batchSends !== false ? (tasks) => publisher.publish(tasks.map(eventOf)) : undefined;
    } else if (handler) {
      this.#send = (task) => handler(task.task, { messageId: task.messageId, attempt: task.attempts + 1 });
      this.#sendBatch = undefined;
    } else {
      this.#send = (task) => queue!.enqueue(task.task, { messageId: task.messageId });
      this.#sendBatch =
        queue?.enqueueBatch && options.batchSends !== false
          ? (tasks) => queue.enqueueBatch!(tasks.map((t) => ({ task: t.task, messageId: t.messageId })))
          : undefined;
    }
    // A handler's failure says something about one task, never that "the queue" is down.
    this.#queueDownAfter = handler ? 0 : Math.max(0, options.queueDownAfter ?? 3);
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger;
    this.#batchSize = options.batchSize ?? 100;
    this.#leaseMs = options.leaseMs ?? 30_000;
    this.#backoffSeconds = options.retryPolicy?.backoffSeconds ?? 30;
    this.#maxBackoffSeconds = options.maxBackoffSeconds ?? 3600;
  }

  async runOnce(): Promise<DispatchRound> {
    const now = new Date(this.#clock.now());
    const tasks = await this.#outbox.claimDue(now, this.#batchSize, this.#leaseMs, this.#kind);
    const round = emptyRound(tasks.length);
    if (tasks.length === 0) return round;

    if (this.#sendBatch && tasks.length > 1) {
      let batchSent = false;
      try {
        await this.#sendBatch(tasks);
        batchSent = true;
      } catch (error) {
        this.#log?.warn(
          { err: errorMessage(error), tasks: tasks.length },
          'batch send failed; sending the round task by task',
        );
      }
      if (batchSent) {
        round.batches++;
        await this.#completeAllSent(tasks, round);
        return round;
      }
    }

    let failedInARow = 0;
    let lastError: unknown;
    for (const task of tasks) {
      if (this.#queueDownAfter > 0 && round.sent === 0 && failedInARow >= this.#queueDownAfter) {
        // The queue is down: not worth a try per task, each waiting out the client's retries.
        await this.#retry(task, lastError, round);
        continue;
      }
      try {
        await this.#send(task);
      } catch (error) {
        failedInARow++;
        lastError = error;
        await this.#retry(task, error, round);
        continue;
      }
      failedInARow = 0;
      await this.#completeSent(task, round);
    }
    return round;
  }

  /** The queue has it: drop it from the outbox. If that fails the lease runs out and it is sent again (and dropped as a duplicate). */
  async #completeSent(task: OutboxTask, round: DispatchRound): Promise<void> {
    round.sent++;
    try {
      await this.#outbox.complete(task.id);
    } catch (error) {
      this.#log?.warn(
        { err: errorMessage(error), messageId: task.messageId },
        'sent task not completed; it is sent again after its lease (the queue drops the duplicate)',
      );
    }
  }

  /** A whole batch went out: completed in one write when the store can. */
  async #completeAllSent(tasks: OutboxTask[], round: DispatchRound): Promise<void> {
    round.sent += tasks.length;
    try {
      await completeTasks(
        this.#outbox,
        tasks.map((task) => task.id),
      );
    } catch (error) {
      this.#log?.warn(
        { err: errorMessage(error), tasks: tasks.length },
        'sent tasks not completed; they are sent again after their lease (the queue drops the duplicates)',
      );
    }
  }

  async #retry(task: OutboxTask, error: unknown, round: DispatchRound): Promise<void> {
    const message = errorMessage(error).slice(0, 500);
    const wait = Math.min(this.#backoffSeconds * 2 ** task.attempts, this.#maxBackoffSeconds);
    const status = await this.#outbox.retry(task.id, message, new Date(this.#clock.now() + wait * 1000));
    if (status === 'dead') {
      round.dead++;
      this.#log?.error(
        { messageId: task.messageId, attempts: task.attempts + 1, kind: this.#kind },
        this.#kind === 'publish' ? 'publish task dead-lettered' : 'sync task dead-lettered',
      );
    } else {
      round.retried++;
    }
  }

  /** Runs rounds every `intervalMs` (immediately again while rounds come back full). */
  start(intervalMs = 1000): void {
    if (this.#timer) return;
    const tick = async (): Promise<void> => {
      let round: DispatchRound;
      do {
        round = await this.runOnce().catch((error: unknown) => {
          this.#log?.warn({ err: error instanceof Error ? error.message : String(error) }, 'dispatch round failed');
          return emptyRound();
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

export interface EmbeddedWorkerOptions extends Omit<OutboxDispatcherOptions, 'queue' | 'handler' | 'publisher'> {
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

/** Completes the tasks in one write when the store can (`completeMany`), else one by one. */
export async function completeTasks(outbox: OutboxStore, ids: readonly string[]): Promise<void> {
  if (outbox.completeMany) await outbox.completeMany(ids);
  else for (const id of ids) await outbox.complete(id);
}

function eventOf(task: OutboxTask): PublishedEvent {
  if (!task.event) throw new TypeError(`publish task ${task.id} has no event`);
  return task.event;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : 'enqueue failed';
}
