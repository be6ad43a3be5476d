import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
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

export interface LocalCosmosOptions {
  /**
   * Make transactional batches all-or-nothing, as Cosmos DB does. @vercel/cosmosdb-server 1.0.1 is
   * not: it runs a batch's operations in order and stops at the first failure, answering 424 for
   * the rest, but it keeps what the operations before the failure wrote, and answers HTTP 200 with
   * their real statuses (201, 200, 204). Cosmos DB writes nothing, answers 207, and gives every
   * operation but the failed one 424. With this option, the wrapper snapshots the container's items
   * before the batch's first operation and puts them back when one fails (all in the same
   * synchronous step, so no other request sees the partial batch), and rewrites the answer to
   * Cosmos DB's. It patches the server's internal modules (see `installAtomicBatches`).
   */
  atomicBatches?: boolean;
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

export async function startLocalCosmos(options: LocalCosmosOptions = {}): Promise<LocalCosmos> {
  const atomic = options.atomicBatches === true ? installAtomicBatches() : undefined;
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
    if (atomic && batch && isTrue(req.headers['x-ms-cosmos-batch-atomic'])) atomic.adopt(req, res);
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

const isTrue = (header: string | string[] | undefined): boolean =>
  (Array.isArray(header) ? header : [header]).some((value) => value?.toLowerCase() === 'true');

/** The parts of the server's internals the atomic-batch shim touches (lib/account/items.js). */
interface EmulatorItems {
  _data: Map<unknown, unknown>;
  _index: Map<unknown, unknown>;
}
interface EmulatorCollection {
  documents: EmulatorItems;
}
type EmulatorOperation = (collection: EmulatorCollection, input: unknown) => { statusCode: number };
type EmulatorOperations = Record<
  'createOperation' | 'upsertOperation' | 'replaceOperation' | 'deleteOperation',
  EmulatorOperation
>;
interface EmulatorJson {
  default: (req: IncomingMessage) => Promise<unknown>;
}

interface AtomicBatches {
  /** Makes this request's batch all-or-nothing and its answer Cosmos DB's. */
  adopt(req: IncomingMessage, res: ServerResponse): void;
}

/** One batch in flight: the items as they were before its first write. */
interface BatchState {
  snapshot?: { items: EmulatorItems; data: Map<unknown, unknown>; index: Map<unknown, unknown> };
}

const ATOMIC = Symbol.for('@webhooks/store-cosmos/test-support/atomic-batches');

/**
 * Patches, once per process, the two internal modules of @vercel/cosmosdb-server 1.0.1 that its
 * batch handler (lib/handler/batch-documents.js) looks up at call time: `json.default`, which
 * parses the body (here it also tags each operation of an adopted request), and the
 * `*Operation` functions of `_document-operations`, which run one operation each (here the first
 * write of a tagged batch snapshots the container, and a failure restores it). The batch handler
 * runs all operations synchronously after reading the body, so nothing else runs in between.
 */
function installAtomicBatches(): AtomicBatches {
  const shared = globalThis as { [ATOMIC]?: AtomicBatches };
  const installed = shared[ATOMIC];
  if (installed) return installed;
  const require = createRequire(import.meta.url);
  const lib = dirname(require.resolve('@vercel/cosmosdb-server'));
  const json = require(join(lib, 'json.js')) as EmulatorJson;
  const operations = require(join(lib, 'handler', '_document-operations.js')) as EmulatorOperations;
  const adopted = new WeakSet<IncomingMessage>();
  const batchOf = new WeakMap<object, BatchState>();

  const parse = json.default;
  json.default = async (req) => {
    const body = await parse(req);
    if (adopted.has(req) && Array.isArray(body)) {
      const state: BatchState = {};
      for (const input of body) if (typeof input === 'object' && input !== null) batchOf.set(input, state);
    }
    return body;
  };
  for (const name of ['createOperation', 'upsertOperation', 'replaceOperation', 'deleteOperation'] as const) {
    const run = operations[name];
    operations[name] = (collection, input) => {
      const state = typeof input === 'object' && input !== null ? batchOf.get(input) : undefined;
      if (!state) return run(collection, input);
      const items = collection.documents;
      state.snapshot ??= { items, data: new Map(items._data), index: new Map(items._index) };
      const { snapshot } = state;
      const restore = (): void => {
        snapshot.items._data = new Map(snapshot.data);
        snapshot.items._index = new Map(snapshot.index);
      };
      let result: { statusCode: number };
      try {
        result = run(collection, input);
      } catch (error) {
        restore();
        throw error;
      }
      // The operations after a failed one are answered 424 without running: put back the earlier ones.
      if (result.statusCode >= 400) restore();
      return result;
    };
  }

  const atomic: AtomicBatches = {
    adopt(req, res) {
      adopted.add(req);
      const end = res.end.bind(res) as (chunk?: unknown) => ServerResponse;
      res.end = ((chunk?: unknown) => {
        if (typeof chunk !== 'string' || res.statusCode >= 400) return end(chunk);
        const results = JSON.parse(chunk) as unknown;
        if (!Array.isArray(results)) return end(chunk);
        const statuses = results.map((r: { statusCode?: unknown }) => Number(r.statusCode));
        if (!statuses.some((status) => status >= 400)) return end(chunk);
        // Cosmos DB's answer to a failed batch: 207, the failed operation's status, 424 for the others.
        res.statusCode = 207;
        return end(
          JSON.stringify(
            results.map((r: object, i) => ((statuses[i] ?? 0) >= 400 ? r : { statusCode: 424, requestCharge: 0 })),
          ),
        );
      }) as typeof res.end;
    },
  };
  shared[ATOMIC] = atomic;
  return atomic;
}
