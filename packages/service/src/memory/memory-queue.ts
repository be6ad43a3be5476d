import type { EnqueueOptions, EventPublisher, PublishedEvent, SyncQueue, SyncTask } from '@webhooks/core';

/** A SyncQueue that keeps what it is given, with the message-id duplicate detection Service Bus has. */
export class MemorySyncQueue implements SyncQueue {
  readonly messages: Array<{ messageId: string; task: SyncTask }> = [];
  readonly #seen = new Set<string>();
  /** Set to make enqueue fail, as a broker that is down would. */
  failWith: Error | null = null;

  async enqueue(task: SyncTask, options: EnqueueOptions): Promise<void> {
    if (this.failWith) throw this.failWith;
    if (this.#seen.has(options.messageId)) return;
    this.#seen.add(options.messageId);
    this.messages.push({ messageId: options.messageId, task: structuredClone(task) });
  }
}

/** An EventPublisher that keeps what it publishes. */
export class MemoryEventPublisher implements EventPublisher {
  readonly events: PublishedEvent[] = [];
  failWith: Error | null = null;

  async publish(events: PublishedEvent[]): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.events.push(...structuredClone(events));
  }
}
