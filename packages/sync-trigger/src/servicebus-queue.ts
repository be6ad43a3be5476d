import { createHash } from 'node:crypto';
import {
  RetryMode,
  type RetryOptions,
  ServiceBusClient,
  type ServiceBusClientOptions,
  type ServiceBusMessage,
  type ServiceBusMessageBatch,
  type ServiceBusSender,
} from '@azure/service-bus';
import {
  type EnqueueBatchItem,
  type EnqueueOptions,
  type SyncQueue,
  type SyncTask,
  WebhookError,
} from '@webhooks/core';
import { toQueueError } from './errors.js';

/** One task of `enqueueBatch` (the SyncQueue port's type, re-exported for existing imports). */
export type { EnqueueBatchItem } from '@webhooks/core';

/** One quick retry: enough for a blip, short enough that a wrong key or host fails in about a second. */
const START_UP_RETRY: ServiceBusRetryOptions = { maxRetries: 1, retryDelayInMs: 200, timeoutInMs: 10_000 };

/** Service Bus caps message and session ids at 128 characters. */
const MAX_ID_LENGTH = 128;

export interface ServiceBusRetryOptions {
  /** Attempts after the first for errors the SDK considers retryable (default 3). */
  maxRetries?: number;
  /** First backoff delay; it doubles per attempt (default 500). */
  retryDelayInMs?: number;
  maxRetryDelayInMs?: number;
  /** Per-attempt timeout, connecting included (default 30000). */
  timeoutInMs?: number;
}

export interface ServiceBusSyncQueueOptions {
  /**
   * Sets `sessionId` = `tenantId:entityType:entityId` so a session-enabled queue hands one
   * entity's tasks to one worker in order. Needs a queue created with sessions on.
   */
  ordering?: boolean;
  /**
   * The SDK's retries with exponential backoff. Applied when this class creates the client; a
   * ServiceBusClient passed in keeps its own. Keep them short: a task that still fails stays in the
   * outbox, and the dispatcher retries it later with its own backoff.
   */
  retry?: ServiceBusRetryOptions;
  /** Extra options for the ServiceBusClient created from a connection string. */
  clientOptions?: Omit<ServiceBusClientOptions, 'retryOptions'>;
}

export interface VerifyQueueOptions {
  abortSignal?: AbortSignal;
}

/**
 * A SyncQueue on an Azure Service Bus queue. Each sync task becomes one JSON message whose
 * `messageId` is the delivery's dedupe key, so a queue with duplicate detection drops a task
 * that the outbox sends twice (after a crash between send and complete).
 */
export class ServiceBusSyncQueue implements SyncQueue {
  readonly queueName: string;
  readonly #client: ServiceBusClient;
  readonly #ownsClient: boolean;
  readonly #ordering: boolean;
  #sender: ServiceBusSender | undefined;
  #closed = false;

  constructor(connection: string | ServiceBusClient, queueName: string, options: ServiceBusSyncQueueOptions = {}) {
    if (!queueName) throw new TypeError('ServiceBusSyncQueue needs a queue name');
    this.queueName = queueName;
    this.#ordering = options.ordering ?? false;
    if (typeof connection === 'string') {
      this.#client = createClient(connection, options);
      this.#ownsClient = true;
    } else {
      this.#client = connection;
      this.#ownsClient = false;
    }
  }

  async enqueue(task: SyncTask, options: EnqueueOptions): Promise<void> {
    const message = toServiceBusMessage(task, options.messageId, { ordering: this.#ordering });
    try {
      await this.#getSender().sendMessages(message);
    } catch (error) {
      throw toQueueError(error, this.queueName);
    }
  }

  /**
   * Sends many tasks in as few batches as the queue's message size allows. With ordering on,
   * each batch holds one session's tasks, in the order given. Fails on the first batch that
   * does not go through; batches sent before it stay sent (their message ids make a resend harmless).
   * That is the SyncQueue port's contract: a throw means none is known sent, and a queue with
   * duplicate detection on drops whatever the caller sends again.
   */
  async enqueueBatch(items: readonly EnqueueBatchItem[]): Promise<void> {
    if (items.length === 0) return;
    const messages = items.map((item) => toServiceBusMessage(item.task, item.messageId, { ordering: this.#ordering }));
    try {
      const sender = this.#getSender();
      for (const group of this.#ordering ? groupBySession(messages) : [messages]) {
        let batch = await sender.createMessageBatch();
        for (const message of group) {
          if (batch.tryAddMessage(message)) continue;
          if (batch.count === 0) throw tooLarge(this.queueName, message, batch);
          await sender.sendMessages(batch);
          batch = await sender.createMessageBatch();
          if (!batch.tryAddMessage(message)) throw tooLarge(this.queueName, message, batch);
        }
        if (batch.count > 0) await sender.sendMessages(batch);
      }
    } catch (error) {
      throw toQueueError(error, this.queueName);
    }
  }

  /**
   * A start-up check that sends nothing: opens the send link, which needs the queue to exist and
   * the credentials to be accepted. Rejects with the same clear errors as enqueue.
   */
  async verify(options: VerifyQueueOptions = {}): Promise<void> {
    try {
      // createMessageBatch opens the link to learn the queue's max message size; nothing is sent.
      await this.#getSender().createMessageBatch(options.abortSignal ? { abortSignal: options.abortSignal } : {});
    } catch (error) {
      throw toQueueError(error, this.queueName);
    }
  }

  /** Closes the sender, and the client when this queue created it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const sender = this.#sender;
    this.#sender = undefined;
    await sender?.close().catch(() => {});
    if (this.#ownsClient) await this.#client.close().catch(() => {});
  }

  #getSender(): ServiceBusSender {
    if (this.#closed)
      throw new WebhookError('queue_unavailable', `Service Bus queue "${this.queueName}" client is closed`);
    this.#sender ??= this.#client.createSender(this.queueName);
    return this.#sender;
  }
}

/**
 * Checks at start-up that `queueName` exists and the credentials may send to it, without sending
 * anything. Rejects with WebhookError('queue_unavailable') naming the cause. Retries once unless
 * `retry` says otherwise.
 */
export async function checkServiceBusQueue(
  connection: string | ServiceBusClient,
  queueName: string,
  options: Pick<ServiceBusSyncQueueOptions, 'retry' | 'clientOptions'> & VerifyQueueOptions = {},
): Promise<void> {
  // The SDK retries even a rejected key (it counts as retryable), so a start-up check keeps retries short.
  const queue = new ServiceBusSyncQueue(connection, queueName, { ...options, retry: options.retry ?? START_UP_RETRY });
  try {
    await queue.verify(options.abortSignal ? { abortSignal: options.abortSignal } : {});
  } finally {
    await queue.close();
  }
}

export interface ToServiceBusMessageOptions {
  ordering?: boolean;
}

/** The message for one sync task: the task as JSON, plus what a worker or a subscription rule routes on. */
export function toServiceBusMessage(
  task: SyncTask,
  messageId: string,
  options: ToServiceBusMessageOptions = {},
): ServiceBusMessage {
  if (!messageId || messageId.length > MAX_ID_LENGTH) {
    throw new WebhookError('invalid_request', `A Service Bus messageId must be 1 to ${MAX_ID_LENGTH} characters`);
  }
  const message: ServiceBusMessage = {
    body: task,
    messageId,
    contentType: 'application/json',
    subject: task.syncType,
    applicationProperties: {
      tenantId: task.tenantId,
      integrationId: task.integrationId,
      eventType: task.eventType,
      entityType: task.entityType,
    },
  };
  if (options.ordering) message.sessionId = sessionIdFor(task);
  return message;
}

/** `tenantId:entityType:entityId`, hashed when longer than Service Bus allows (the same entity keeps the same id). */
export function sessionIdFor(task: Pick<SyncTask, 'tenantId' | 'entityType' | 'entityId'>): string {
  const id = `${task.tenantId}:${task.entityType}:${task.entityId}`;
  if (id.length <= MAX_ID_LENGTH) return id;
  return `sha256:${createHash('sha256').update(id).digest('base64url')}`;
}

function createClient(connectionString: string, options: ServiceBusSyncQueueOptions): ServiceBusClient {
  const retry = options.retry ?? {};
  const retryOptions: RetryOptions = {
    maxRetries: retry.maxRetries ?? 3,
    retryDelayInMs: retry.retryDelayInMs ?? 500,
    maxRetryDelayInMs: retry.maxRetryDelayInMs ?? 5000,
    timeoutInMs: retry.timeoutInMs ?? 30_000,
    // The SDK's default is a fixed delay; backing off is kinder to a namespace that is struggling.
    mode: RetryMode.Exponential,
  };
  try {
    return new ServiceBusClient(connectionString, { ...options.clientOptions, retryOptions });
  } catch (error) {
    // The SDK's parse errors can quote the string; ours never does.
    throw new WebhookError(
      'queue_unavailable',
      'Service Bus connection string is not valid (expected Endpoint=sb://...;SharedAccessKeyName=...;SharedAccessKey=...)',
      { reason: 'invalid_connection_string', cause: error instanceof Error ? new Error(error.name) : undefined },
    );
  }
}

function groupBySession(messages: ServiceBusMessage[]): ServiceBusMessage[][] {
  const groups = new Map<string, ServiceBusMessage[]>();
  for (const message of messages) {
    const key = message.sessionId ?? '';
    const group = groups.get(key);
    if (group) group.push(message);
    else groups.set(key, [message]);
  }
  return [...groups.values()];
}

function tooLarge(queue: string, message: ServiceBusMessage, batch: ServiceBusMessageBatch): WebhookError {
  return new WebhookError(
    'queue_unavailable',
    `Sync task ${String(message.messageId)} does not fit in a Service Bus message for queue "${queue}" (limit ${batch.maxSizeInBytes} bytes)`,
    { reason: 'MessageSizeExceeded' },
  );
}
