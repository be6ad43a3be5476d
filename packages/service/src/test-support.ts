import type { Clock, DeliveryStore, OutboxStore, RegistrationStore } from '@webhooks/core';
import { MemoryEventPublisher, MemorySyncQueue } from './memory/memory-queue.js';
import { MemoryStore } from './memory/memory-store.js';
import { WebhookManagementService, type WebhookManagementServiceOptions } from './service.js';

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(public ms = Date.UTC(2026, 10, 28, 12, 0, 0)) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

export interface Harness {
  service: WebhookManagementService;
  store: MemoryStore;
  queue: MemorySyncQueue;
  publisher: MemoryEventPublisher;
  clock: ManualClock;
}

/** A service on in-memory ports; `overrides` swap any of them (a failing store, a registrar). */
export function harness(
  overrides: Partial<WebhookManagementServiceOptions> & {
    registrations?: RegistrationStore;
    deliveries?: DeliveryStore;
    outbox?: OutboxStore;
  } = {},
): Harness {
  const store = new MemoryStore();
  const queue = new MemorySyncQueue();
  const publisher = new MemoryEventPublisher();
  const clock = new ManualClock();
  const service = new WebhookManagementService({
    registrations: store,
    deliveries: store,
    outbox: store,
    queue,
    publisher,
    clock,
    publicBaseUrl: 'https://hooks.example.com/',
    ...overrides,
  });
  return { service, store, queue, publisher, clock };
}

/** Wraps a port so that chosen methods throw while `failing` is true. */
export function failing<T extends object>(target: T, methods: Array<keyof T>): T & { failing: boolean } {
  const state = { failing: false };
  const proxy = new Proxy(target, {
    get(object, property, receiver) {
      if (property === 'failing') return state.failing;
      const value = Reflect.get(object, property, receiver);
      if (typeof value !== 'function') return value;
      if (state.failing && methods.includes(property as keyof T)) {
        return async () => {
          throw new Error(`${String(property)}: connection refused`);
        };
      }
      return value.bind(object);
    },
    set(object, property, value) {
      if (property === 'failing') {
        state.failing = Boolean(value);
        return true;
      }
      return Reflect.set(object, property, value);
    },
  });
  return proxy as T & { failing: boolean };
}
