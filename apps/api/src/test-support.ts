import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  MemoryStore,
  MemorySyncQueue,
  WebhookManagementService,
  type WebhookManagementServiceOptions,
} from '@webhooks/service';
import { createReceiver } from './app.js';
import { Authenticator } from './auth.js';
import { createLogger } from './logger.js';
import { ReceiverMetrics } from './metrics.js';

export interface TestServer {
  url: string;
  store: MemoryStore;
  queue: MemorySyncQueue;
  service: WebhookManagementService;
  logs: string[];
  keys: { a: string; b: string };
  close(): Promise<void>;
}

/** The app over real HTTP on 127.0.0.1, on in-memory ports, with two tenants' keys and captured logs. */
export async function startTestServer(
  overrides: Partial<WebhookManagementServiceOptions> & { maxBodyBytes?: number; adminMaxBodyBytes?: number } = {},
): Promise<TestServer> {
  const store = new MemoryStore();
  const queue = new MemorySyncQueue();
  const logs: string[] = [];
  const logger = createLogger('debug', { write: (line: string) => void logs.push(line) });
  let server: Server | undefined;
  const base = { url: '' };
  const service = new WebhookManagementService({
    registrations: store,
    deliveries: store,
    outbox: store,
    queue,
    publicBaseUrl: 'http://placeholder',
    logger,
    ...overrides,
  });
  const auth = new Authenticator(store);
  const keys = { a: 'tenant-a-key-0123456789abcdef', b: 'tenant-b-key-0123456789abcdef' };
  await auth.bootstrap([
    { tenantId: 'tenant-a', key: keys.a },
    { tenantId: 'tenant-b', key: keys.b },
  ]);
  const metrics = new ReceiverMetrics({
    outboxStats: () => store.outboxStats(new Date()),
    cacheHitRate: () => 0,
  });
  const { listener } = createReceiver({
    service,
    auth,
    outbox: store,
    metrics,
    logger,
    publicBaseUrl: 'http://placeholder',
    maxBodyBytes: overrides.maxBodyBytes ?? 25 * 1024 * 1024,
    adminMaxBodyBytes: overrides.adminMaxBodyBytes ?? 1024 * 1024,
    readiness: async () => ({ ready: true, checks: { store: 'ok' } }),
  });
  await new Promise<void>((resolve) => {
    server = createServer(listener).listen(0, '127.0.0.1', () => resolve());
  });
  base.url = `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
  return {
    url: base.url,
    store,
    queue,
    service,
    logs,
    keys,
    close: () => new Promise<void>((resolve) => server!.close(() => resolve())),
  };
}
