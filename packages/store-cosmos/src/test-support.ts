import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CosmosClient } from '@azure/cosmos';
import { createHttpServer } from '@vercel/cosmosdb-server';

export interface LoggedRequest {
  method: string;
  path: string;
  /** True for SQL queries (POST with the query content type). */
  query: boolean;
  /** True for a transactional batch. */
  batch: boolean;
  /** True for the SDK's query-plan request that precedes some queries. */
  plan: boolean;
  /** The `x-ms-documentdb-partitionkey` header: present on single-partition operations. */
  partitionKey?: string;
  /** The query text, when it is one. */
  text?: string;
}

/**
 * @vercel/cosmosdb-server in this process, behind a thin wrapper that logs every request (to prove
 * point reads and count round trips) and can answer 429 with `x-ms-retry-after-ms` on demand.
 */
export interface LocalCosmos {
  endpoint: string;
  key: string;
  requests: LoggedRequest[];
  /** The next `count` requests whose path matches are answered 429 after `retryAfterMs`. */
  throttle(count: number, retryAfterMs: number, match?: RegExp): void;
  client(options?: { maxRetryAttemptCount?: number; maxWaitTimeInSeconds?: number }): CosmosClient;
  close(): Promise<void>;
}

export async function startLocalCosmos(): Promise<LocalCosmos> {
  // The server builds its account when it starts listening, so we wrap its own request listener
  // instead of putting a second server in front of it.
  const server: Server = createHttpServer();
  const handler = server.listeners('request')[0] as RequestListener;
  server.removeAllListeners('request');
  const requests: LoggedRequest[] = [];
  let throttled = 0;
  let retryAfter = 0;
  let throttleMatch: RegExp | undefined;
  const clients: CosmosClient[] = [];

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/');
    const query = req.method === 'POST' && String(req.headers['content-type'] ?? '').includes('query+json');
    if (throttled > 0 && (!throttleMatch || throttleMatch.test(path))) {
      throttled--;
      req.resume();
      res.writeHead(429, {
        'content-type': 'application/json',
        'x-ms-retry-after-ms': String(retryAfter),
        'x-ms-activity-id': randomUUID(),
        'x-ms-substatus': '3200',
      });
      res.end(JSON.stringify({ code: 'TooManyRequests', message: 'Request rate is large' }));
      return;
    }
    const batch =
      req.headers['x-ms-cosmos-is-batch-request'] === 'True' || req.headers['x-ms-cosmos-is-batch-request'] === 'true';
    const plan = String(req.headers['x-ms-cosmos-is-query-plan-request'] ?? '').toLowerCase() === 'true';
    const entry: LoggedRequest = { method: req.method ?? 'GET', path, query, batch, plan };
    const partitionKey = req.headers['x-ms-documentdb-partitionkey'];
    if (typeof partitionKey === 'string') entry.partitionKey = partitionKey;
    requests.push(entry);
    if (query) {
      // A second 'data' listener sees the same chunks as the server's, so the query text is logged
      // without consuming the body.
      const parts: Buffer[] = [];
      req.on('data', (part: Buffer) => parts.push(part));
      req.on('end', () => {
        try {
          const text = (JSON.parse(Buffer.concat(parts).toString('utf8')) as { query?: string }).query;
          if (text !== undefined) entry.text = text;
        } catch {
          // not JSON: nothing to log
        }
      });
    }
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}/`;
  const key = Buffer.from('local-cosmos-test-key').toString('base64');

  return {
    endpoint,
    key,
    requests,
    throttle(count, retryAfterMs, match) {
      throttled = count;
      retryAfter = retryAfterMs;
      throttleMatch = match;
    },
    client(options = {}) {
      const client = new CosmosClient({
        endpoint,
        key,
        connectionPolicy: {
          enableEndpointDiscovery: false,
          retryOptions: { maxRetryAttemptCount: 9, maxWaitTimeInSeconds: 5, ...options },
        },
      });
      clients.push(client);
      return client;
    },
    async close() {
      for (const client of clients) client.dispose();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
