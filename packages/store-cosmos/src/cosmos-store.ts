import { createHash } from 'node:crypto';
import {
  BulkOperationType,
  type Container,
  CosmosClient,
  type Database,
  type IndexingPolicy,
  type JSONObject,
  type OperationInput,
  type OperationResponse,
  type PatchOperation,
  type RetryOptions,
  type SqlParameter,
} from '@azure/cosmos';
import {
  type ApiKeyRecord,
  type ApiKeyStore,
  type ClaimResult,
  type CounterOutcome,
  type DedupeCommit,
  type DeliveryOutcome,
  type DeliveryRecord,
  type DeliveryStore,
  type FreshAppend,
  type FreshAppendResult,
  type ListOutboxOptions,
  type ListRegistrationsOptions,
  type NewOutboxTask,
  type OutboxStatus,
  type OutboxStore,
  type OutboxTask,
  type OutboxTaskKind,
  type Page,
  type RegistrationCounters,
  type RegistrationStore,
  type SecretBox,
  type UpdateOptions,
  WebhookError,
  type WebhookRegistration,
} from '@webhooks/core';
import {
  type ApiKeyDocument,
  type ApiKeyIdDocument,
  type BodyChunkDocument,
  type ClaimDocument,
  claimItemId,
  countersOf,
  type DeliveryDocument,
  fromApiKeyDocument,
  fromDeliveryDocument,
  fromOutboxDocument,
  fromRegistrationDocument,
  isRegistrationId,
  itemKey,
  newPointer,
  type OutboxDocument,
  type RegistrationDocument,
  type RegistrationPointer,
  toDeliveryDocument,
  toOutboxDocument,
  toRegistrationDocument,
  withoutSystem,
} from './documents.js';
import { CosmosStoreError, statusOf, toStoreError } from './errors.js';

export const CONTAINERS = {
  registrations: 'WebhookRegistrations',
  deliveries: 'WebhookDeliveries',
  lookups: 'WebhookLookups',
} as const;

/** A transactional batch holds at most 100 operations and 2 MB; we stay under both with a margin. */
const BATCH_MAX_OPERATIONS = 100;
const BATCH_MAX_BYTES = 1_900_000;
/** Raw bytes per body chunk: 1 MiB is ~1.4 MB of base64, well under the 2 MB item limit. */
const CHUNK_BYTES = 1024 * 1024;
const DEFAULT_INLINE_BODY_BYTES = 512 * 1024;
const DEFAULT_DELIVERY_TTL_SECONDS = 30 * 24 * 3600;
/** Enough to let one hint map remember the partitions of in-flight deliveries and tasks. */
const HINT_CAPACITY = 10_000;
const PARALLEL_WRITES = 8;

/**
 * The SDK honours the server's `x-ms-retry-after-ms` on 429. The receive path must answer within a
 * provider's timeout (GitHub gives up after 10 s), so by default we wait at most 5 s in total, then
 * fail with a CosmosStoreError that the service turns into 503, and the provider retries.
 */
export const DEFAULT_RETRY_OPTIONS: RetryOptions = { maxRetryAttemptCount: 9, maxWaitTimeInSeconds: 5 };

export interface CosmosStoreOptions {
  /** Seals webhook secrets before they are written; Cosmos never holds one in plain text. */
  secretBox: SecretBox;
  /** Rejected deliveries kept per registration (the newest). */
  keepRejected?: number;
  /** Delivery lifetime (item `ttl`); -1 keeps deliveries until their registration is deleted. */
  deliveryTtlSeconds?: number;
  /** Bodies up to this size are stored inside the delivery document; larger ones in 1 MiB chunks. */
  inlineBodyMaxBytes?: number;
}

export interface CosmosStoreContainers {
  registrations: Container;
  deliveries: Container;
  lookups: Container;
}

export interface OpenCosmosStoreOptions extends CosmosStoreOptions {
  /** A client you built; otherwise give `endpoint` and `key`. */
  client?: CosmosClient;
  endpoint?: string;
  key?: string;
  databaseId: string;
  /** Creates the database and containers (with their partition keys, TTL and indexes) when missing. */
  createIfNotExists?: boolean;
  /** For a client built here from `endpoint` and `key`. */
  retryOptions?: RetryOptions;
}

/** Composite indexes for the two ORDER BY queries; everything bulky is left out of the index. */
const REGISTRATIONS_INDEXING: IndexingPolicy = {
  indexingMode: 'consistent',
  automatic: true,
  includedPaths: [{ path: '/*' }],
  excludedPaths: [
    { path: '/sealedSecret/?' },
    { path: '/previousSecrets/*' },
    { path: '/metadata/*' },
    { path: '/"_etag"/?' },
  ],
  compositeIndexes: [
    [
      { path: '/createdAt', order: 'ascending' },
      { path: '/id', order: 'ascending' },
    ],
  ],
};

const DELIVERIES_INDEXING: IndexingPolicy = {
  indexingMode: 'consistent',
  automatic: true,
  includedPaths: [{ path: '/*' }],
  excludedPaths: [
    { path: '/body/?' },
    { path: '/data/?' },
    { path: '/headers/*' },
    { path: '/diagnostics/*' },
    { path: '/task/*' },
    { path: '/event/?' },
    { path: '/"_etag"/?' },
  ],
  compositeIndexes: [
    [
      { path: '/receivedAtMs', order: 'descending' },
      { path: '/seq', order: 'descending' },
    ],
  ],
};

/** Opens (and optionally creates) the database and containers, and returns the store. */
export async function openCosmosStore(options: OpenCosmosStoreOptions): Promise<CosmosStore> {
  let client = options.client;
  const owned = client === undefined;
  if (!client) {
    if (!options.endpoint || !options.key)
      throw new TypeError('openCosmosStore needs a client, or an endpoint and a key');
    client = new CosmosClient({
      endpoint: options.endpoint,
      key: options.key,
      connectionPolicy: { retryOptions: options.retryOptions ?? DEFAULT_RETRY_OPTIONS },
    });
  }
  let database: Database;
  let containers: CosmosStoreContainers;
  try {
    if (options.createIfNotExists) {
      database = (await client.databases.createIfNotExists({ id: options.databaseId })).database;
      const [registrations, deliveries, lookups] = await Promise.all([
        database.containers.createIfNotExists({
          id: CONTAINERS.registrations,
          partitionKey: { paths: ['/tenantId'] },
          indexingPolicy: REGISTRATIONS_INDEXING,
        }),
        database.containers.createIfNotExists({
          id: CONTAINERS.deliveries,
          partitionKey: { paths: ['/registrationId'] },
          // -1: on, with no default; items carry their own `ttl` (deliveries, chunks, claims).
          defaultTtl: -1,
          indexingPolicy: DELIVERIES_INDEXING,
        }),
        database.containers.createIfNotExists({ id: CONTAINERS.lookups, partitionKey: { paths: ['/id'] } }),
      ]);
      containers = {
        registrations: registrations.container,
        deliveries: deliveries.container,
        lookups: lookups.container,
      };
    } else {
      database = client.database(options.databaseId);
      containers = {
        registrations: database.container(CONTAINERS.registrations),
        deliveries: database.container(CONTAINERS.deliveries),
        lookups: database.container(CONTAINERS.lookups),
      };
    }
  } catch (error) {
    if (owned) client.dispose();
    throw toStoreError(error, 'open');
  }
  return new CosmosStore(containers, options, owned ? client : undefined);
}

type Attempt<T> = { ok: true; value: T } | { ok: false; status: number };

/**
 * Registrations, deliveries, dedupe claims, the outbox and API keys on Azure Cosmos DB.
 *
 * - `WebhookRegistrations` (pk /tenantId): listing a tenant's registrations is a single-partition query.
 * - `WebhookLookups` (pk /id): registration id -> tenant pointers (with the health counters) and API
 *   keys by hash; every receive-path read is a point read, never a cross-partition query.
 * - `WebhookDeliveries` (pk /registrationId): deliveries, body chunks, dedupe claims and outbox
 *   tasks of one registration share a partition, so a delivery, its tasks and the commit of its
 *   dedupe claims go in one transactional batch.
 */
export class CosmosStore implements RegistrationStore, DeliveryStore, OutboxStore, ApiKeyStore {
  readonly #registrations: Container;
  readonly #deliveries: Container;
  readonly #lookups: Container;
  readonly #secretBox: SecretBox;
  readonly #keepRejected: number;
  readonly #deliveryTtl: number;
  readonly #inlineBodyMaxBytes: number;
  readonly #ownedClient: CosmosClient | undefined;
  /** Registration id -> tenant: a registration never changes tenant, so this only saves the pointer read. */
  readonly #tenantOf = new Map<string, string>();
  /** Task and delivery ids -> registration (their partition), from this process's own writes and claims. */
  readonly #partitionOf = new Map<string, string>();
  #lastSeq = 0;

  constructor(containers: CosmosStoreContainers, options: CosmosStoreOptions, ownedClient?: CosmosClient) {
    this.#registrations = containers.registrations;
    this.#deliveries = containers.deliveries;
    this.#lookups = containers.lookups;
    this.#secretBox = options.secretBox;
    this.#keepRejected = options.keepRejected ?? 100;
    this.#deliveryTtl = options.deliveryTtlSeconds ?? DEFAULT_DELIVERY_TTL_SECONDS;
    this.#inlineBodyMaxBytes = Math.min(options.inlineBodyMaxBytes ?? DEFAULT_INLINE_BODY_BYTES, 1024 * 1024);
    this.#ownedClient = ownedClient;
  }

  /** Releases the client when the store built it from an endpoint and key. */
  close(): void {
    this.#ownedClient?.dispose();
  }

  // ------------------------------------------------------------------ registrations

  async get(id: string): Promise<WebhookRegistration | null> {
    if (!isRegistrationId(id)) return null;
    const hinted = this.#tenantOf.get(id);
    if (hinted !== undefined) {
      const doc = await this.#read<RegistrationDocument>(this.#registrations, id, hinted, 'read registration');
      if (doc) return fromRegistrationDocument(doc, this.#secretBox);
      this.#tenantOf.delete(id);
    }
    const pointer = await this.#readPointer(id);
    if (!pointer) return null;
    const doc = await this.#read<RegistrationDocument>(this.#registrations, id, pointer.tenantId, 'read registration');
    if (!doc) return null;
    this.#remember(this.#tenantOf, id, pointer.tenantId);
    return fromRegistrationDocument(doc, this.#secretBox);
  }

  async create(registration: WebhookRegistration): Promise<WebhookRegistration> {
    if (!isRegistrationId(registration.id)) throw new WebhookError('invalid_request', 'Invalid registration id');
    const doc = toRegistrationDocument(registration, this.#secretBox);
    // The pointer comes first: Cosmos ids are unique per partition only, so the pointer (pk /id)
    // is what makes a registration id unique across tenants.
    const pointer = newPointer(registration.id, registration.tenantId);
    const created = await this.#try('create pointer', [409], () => this.#lookups.items.create(pointer));
    if (!created.ok) await this.#reclaimPointer(pointer);
    const stored = await this.#try('create registration', [409], () =>
      this.#registrations.items.create<RegistrationDocument>(doc),
    );
    if (!stored.ok) throw new WebhookError('conflict', 'Registration already exists');
    if (!stored.value.resource) throw new CosmosStoreError('Cosmos DB create registration returned no document');
    this.#remember(this.#tenantOf, registration.id, registration.tenantId);
    return fromRegistrationDocument(stored.value.resource, this.#secretBox);
  }

  async update(registration: WebhookRegistration, options: UpdateOptions = {}): Promise<WebhookRegistration> {
    if (!isRegistrationId(registration.id)) throw new WebhookError('not_found', 'Registration not found');
    const doc = toRegistrationDocument(registration, this.#secretBox);
    const item = this.#registrations.item(registration.id, registration.tenantId);
    const replaced = await this.#try('replace registration', [404, 412], () =>
      item.replace<RegistrationDocument>(
        doc,
        options.ifMatch === undefined ? {} : { accessCondition: { type: 'IfMatch', condition: options.ifMatch } },
      ),
    );
    if (!replaced.ok) {
      if (replaced.status === 404) throw new WebhookError('not_found', 'Registration not found');
      throw new WebhookError('conflict', 'Registration was changed by someone else');
    }
    if (!replaced.value.resource) throw new CosmosStoreError('Cosmos DB replace registration returned no document');
    return fromRegistrationDocument(replaced.value.resource, this.#secretBox);
  }

  async delete(id: string): Promise<void> {
    if (!isRegistrationId(id)) return;
    const pointer = await this.#readPointer(id);
    if (!pointer) return;
    await this.#deleteItem(this.#registrations, id, pointer.tenantId, 'delete registration');
    // Deliveries and their body chunks go with it; outbox tasks and claims stay (as in MemoryStore):
    // tasks already promised to a queue are still sent, and claims expire by their own TTL.
    const stored = await this.#query<{ id: string }>(
      this.#deliveries,
      'list deliveries to delete',
      "SELECT c.id FROM c WHERE c.registrationId = @registrationId AND (c.type = 'delivery' OR c.type = 'bodyChunk')",
      [{ name: '@registrationId', value: id }],
      id,
    );
    await this.#forEachLimited(stored, (item) => this.#deleteItem(this.#deliveries, item.id, id, 'delete delivery'));
    // The pointer goes last, so a delete that fails half-way can simply be run again.
    await this.#deleteItem(this.#lookups, id, id, 'delete pointer');
    this.#tenantOf.delete(id);
  }

  async listRegistrations(
    tenantId: string,
    options: ListRegistrationsOptions = {},
  ): Promise<Page<WebhookRegistration>> {
    const limit = Math.max(1, Math.min(Math.trunc(options.limit ?? 100) || 100, 1000));
    const where = ['c.tenantId = @tenantId', "c.type = 'registration'"];
    const parameters: SqlParameter[] = [
      { name: '@tenantId', value: tenantId },
      { name: '@top', value: limit + 1 },
    ];
    if (options.integrationId !== undefined) {
      where.push('c.integrationId = @integrationId');
      parameters.push({ name: '@integrationId', value: options.integrationId });
    }
    if (options.connectionId !== undefined) {
      where.push('c.connectionId = @connectionId');
      parameters.push({ name: '@connectionId', value: options.connectionId });
    }
    if (options.status !== undefined) {
      where.push('c.status = @status');
      parameters.push({ name: '@status', value: options.status });
    }
    if (options.continuationToken !== undefined) {
      // Keyset paging on (createdAt, id): stable under inserts, and "more follows" is exact.
      const after = decodeToken(options.continuationToken);
      where.push('(c.createdAt > @afterCreatedAt OR (c.createdAt = @afterCreatedAt AND c.id > @afterId))');
      parameters.push({ name: '@afterCreatedAt', value: after.createdAt }, { name: '@afterId', value: after.id });
    }
    const docs = await this.#query<RegistrationDocument>(
      this.#registrations,
      'list registrations',
      `SELECT TOP @top * FROM c WHERE ${where.join(' AND ')} ORDER BY c.createdAt ASC, c.id ASC`,
      parameters,
      tenantId,
    );
    const items = docs.slice(0, limit);
    const page: Page<WebhookRegistration> = { items: items.map((d) => fromRegistrationDocument(d, this.#secretBox)) };
    const last = items[items.length - 1];
    if (docs.length > limit && last) page.continuationToken = encodeToken(last.createdAt, last.id);
    return page;
  }

  async counts(tenantId?: string): Promise<{ total: number; failed: number }> {
    const scope = tenantId === undefined ? '' : ' AND c.tenantId = @tenantId';
    const parameters: SqlParameter[] = tenantId === undefined ? [] : [{ name: '@tenantId', value: tenantId }];
    const [total, failed] = await Promise.all([
      this.#query<number>(
        this.#registrations,
        'count registrations',
        `SELECT VALUE COUNT(1) FROM c WHERE c.type = 'registration'${scope}`,
        parameters,
        tenantId,
      ),
      this.#query<number>(
        this.#registrations,
        'count failed registrations',
        `SELECT VALUE COUNT(1) FROM c WHERE c.type = 'registration' AND c.status = 'failed'${scope}`,
        parameters,
        tenantId,
      ),
    ]);
    return { total: sum(total), failed: sum(failed) };
  }

  async recordOutcome(id: string, outcome: CounterOutcome, at: Date, count = 1): Promise<void> {
    if (!isRegistrationId(id) || !(count >= 1) || !Number.isFinite(count)) return;
    const n = Math.floor(count);
    const when = at.toISOString();
    // One patch is atomic on the server: concurrent receivers never lose an increment.
    const operations: PatchOperation[] =
      outcome === 'success'
        ? [
            { op: 'incr', path: '/processedEventCount', value: n },
            { op: 'set', path: '/failureCount', value: 0 },
            { op: 'set', path: '/lastEventAt', value: when },
          ]
        : outcome === 'failure'
          ? [
              { op: 'incr', path: '/failureCount', value: n },
              { op: 'set', path: '/lastFailureAt', value: when },
            ]
          : [
              { op: 'incr', path: '/verificationFailureCount', value: n },
              { op: 'set', path: '/lastVerificationFailureAt', value: when },
            ];
    await this.#try('patch counters', [404], () => this.#lookups.item(id, id).patch(operations));
  }

  async getCounters(id: string): Promise<RegistrationCounters> {
    const pointer = isRegistrationId(id) ? await this.#readPointer(id) : null;
    return pointer ? countersOf(pointer) : { processedEventCount: 0, failureCount: 0, verificationFailureCount: 0 };
  }

  // ------------------------------------------------------------------ deliveries and dedupe

  async claimDedupeKey(registrationId: string, key: string, leaseMs: number, now: Date): Promise<ClaimResult> {
    assertRegistrationId(registrationId);
    const id = claimItemId(key);
    const claim: ClaimDocument = {
      id,
      type: 'claim',
      registrationId,
      state: 'pending',
      expiresAtMs: now.getTime() + leaseMs,
      // Cosmos deletes the claim itself once it has expired (the append that commits it rewrites it).
      ttl: ttlSeconds(leaseMs),
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      const created = await this.#try('create claim', [409], () => this.#deliveries.items.create(claim));
      if (created.ok) return 'claimed';
      const existing = await this.#read<ClaimDocument>(this.#deliveries, id, registrationId, 'read claim');
      if (!existing) continue; // expired and removed in between: try to create it again
      if (existing.expiresAtMs > now.getTime()) return existing.state === 'pending' ? 'in_progress' : 'duplicate';
      // Expired but not yet removed: take it over only if nobody else did first (one winner).
      const taken = await this.#try('renew claim', [404, 412], () =>
        this.#deliveries
          .item(id, registrationId)
          .replace(claim, { accessCondition: { type: 'IfMatch', condition: existing._etag ?? '' } }),
      );
      if (taken.ok) return 'claimed';
      // Someone else took it over, or committed it: not ours, and not certainly stored either.
      if (taken.status === 412) return 'in_progress';
    }
    throw new CosmosStoreError('Cosmos DB claim failed (contention)');
  }

  async releaseDedupeKey(registrationId: string, key: string): Promise<void> {
    if (!isRegistrationId(registrationId)) return;
    await this.#deleteItem(this.#deliveries, claimItemId(key), registrationId, 'release claim');
  }

  async append(record: DeliveryRecord, tasks: NewOutboxTask[] = [], commit?: DedupeCommit): Promise<void> {
    assertRegistrationId(record.registrationId);
    const partition = record.registrationId;
    const doc = toDeliveryDocument(record, this.#nextSeq(), this.#deliveryTtl);
    const body = Buffer.from(record.body.buffer, record.body.byteOffset, record.body.byteLength);
    if (body.byteLength <= this.#inlineBodyMaxBytes) {
      doc.body = body.toString('base64');
    } else {
      // Too big for the batch (2 MB) and maybe for one item (2 MB): the chunks are written first and
      // the delivery last, so a delivery is never visible without its whole body. Chunks of a write
      // that fails half-way are orphans that expire with the delivery TTL.
      const chunks: BodyChunkDocument[] = [];
      for (let offset = 0, index = 0; offset < body.byteLength; offset += CHUNK_BYTES, index++) {
        const chunk: BodyChunkDocument = {
          id: chunkId(record.id, index),
          type: 'bodyChunk',
          registrationId: partition,
          deliveryId: record.id,
          index,
          data: body.subarray(offset, offset + CHUNK_BYTES).toString('base64'),
          ttl: this.#deliveryTtl,
        };
        chunks.push(chunk);
      }
      await this.#forEachLimited(chunks, (chunk) => this.#upsert(this.#deliveries, chunk, 'write body chunk'), 4);
      doc.bodyChunks = chunks.length;
      doc.bodySha256 = sha256Bytes(body);
    }

    // One transactional batch holds the delivery, its committed claims, and as many of its tasks as
    // fit (100 operations, 2 MB): the claims become 'committed' exactly when the delivery is durable.
    // Tasks beyond the limits are written before the batch, so none is ever missing once the
    // delivery is there (a task written by a failed attempt is overwritten by the provider's retry).
    // Claims beyond the limits (a delivery of more than 99 events) are committed right after it:
    // a crash in between leaves them pending, so a retry is accepted again once their lease runs
    // out (a repeat at worst, never an event lost).
    const claimDocs = (commit?.keys ?? []).map((key) =>
      committedClaim(partition, key, commit!.expiresAt, record.receivedAt),
    );
    const taskDocs = tasks.map((t) => toOutboxDocument(t, partition, record.receivedAt));
    const final: JSONObject[] = [json(doc)];
    let finalBytes = byteSize(doc);
    const addToFinal = (item: object): boolean => {
      const size = byteSize(item);
      if (final.length >= BATCH_MAX_OPERATIONS || finalBytes + size > BATCH_MAX_BYTES) return false;
      final.push(json(item));
      finalBytes += size;
      return true;
    };
    const late: JSONObject[] = [];
    for (const claim of claimDocs) if (!addToFinal(claim)) late.push(json(claim));
    const early: JSONObject[] = [];
    for (const task of taskDocs) if (!addToFinal(task)) early.push(json(task));
    for (const batch of packBatches(early)) await this.#batch(batch, partition);
    await this.#batch(final, partition);
    for (const batch of packBatches(late)) await this.#batch(batch, partition);

    this.#remember(this.#partitionOf, `d:${record.id}`, partition);
    for (const task of tasks) this.#remember(this.#partitionOf, `o:${task.id}`, partition);
    if (record.outcome === 'rejected') await this.#pruneRejected(partition);
  }

  /**
   * The receive path's one write: a single transactional batch in the delivery's partition that
   * CREATES a committed claim per key, then writes the delivery and its tasks as `append` does.
   * A claim that exists (pending, committed, or expired but not yet removed by its TTL) fails its
   * create with 409, and Cosmos rolls the whole batch back: the answer is 'conflict', nothing is
   * written, and the service goes the two-phase way, which tells those cases apart. There is no
   * read first: the create's conflict is the check.
   * Deliveries that need more than one batch (a chunked body, more than 100 operations or 2 MB)
   * are refused as 'conflict' without a write, so they take the two-phase path too. The counters
   * live in `WebhookLookups` (another container), so the success is never counted here.
   */
  async appendFresh(record: DeliveryRecord, tasks: NewOutboxTask[], fresh: FreshAppend): Promise<FreshAppendResult> {
    assertRegistrationId(record.registrationId);
    const partition = record.registrationId;
    const body = Buffer.from(record.body.buffer, record.body.byteOffset, record.body.byteLength);
    if (body.byteLength > this.#inlineBodyMaxBytes) return { status: 'conflict', counted: false };
    // One claim per distinct key: a second create of the same item would fail the batch.
    const claims = new Map<string, ClaimDocument>();
    for (const key of fresh.commit.keys) {
      const claim = committedClaim(partition, key, fresh.commit.expiresAt, record.receivedAt);
      claims.set(claim.id, claim);
    }
    const doc = toDeliveryDocument(record, this.#nextSeq(), this.#deliveryTtl);
    doc.body = body.toString('base64');
    const items: Array<{ create: boolean; doc: object }> = [
      // The claims go first, so a conflict is met before anything else is written.
      ...[...claims.values()].map((claim) => ({ create: true, doc: claim })),
      { create: false, doc },
      ...tasks.map((task) => ({ create: false, doc: toOutboxDocument(task, partition, record.receivedAt) })),
    ];
    const bytes = items.reduce((total, item) => total + byteSize(item.doc), 0);
    if (items.length > BATCH_MAX_OPERATIONS || bytes > BATCH_MAX_BYTES) return { status: 'conflict', counted: false };
    const operations: OperationInput[] = items.map((item) => ({
      operationType: item.create ? BulkOperationType.Create : BulkOperationType.Upsert,
      partitionKey: partition,
      resourceBody: json(item.doc),
    }));
    const results = await this.#runBatch(operations, partition, 'write fresh delivery');
    const failed = firstFailure(results);
    if (failed !== undefined) {
      if (failed.status === 409 && failed.index < claims.size) return { status: 'conflict', counted: false };
      throw new CosmosStoreError(`Cosmos DB write fresh delivery failed (status ${failed.status})`, {
        statusCode: failed.status,
      });
    }
    this.#remember(this.#partitionOf, `d:${record.id}`, partition);
    for (const task of tasks) this.#remember(this.#partitionOf, `o:${task.id}`, partition);
    if (record.outcome === 'rejected') await this.#pruneRejected(partition);
    return { status: 'stored', counted: false };
  }

  async getDelivery(id: string): Promise<DeliveryRecord | null> {
    if (typeof id !== 'string' || id.length === 0 || id.length > 1000) return null;
    const itemId = itemKey('d', id);
    const hinted = this.#partitionOf.get(`d:${id}`);
    let doc: DeliveryDocument | null;
    if (hinted !== undefined) {
      doc = await this.#read<DeliveryDocument>(this.#deliveries, itemId, hinted, 'read delivery');
    } else {
      // Delivery ids do not carry their registration: a parameterised lookup by id (management path only).
      const found = await this.#query<DeliveryDocument>(
        this.#deliveries,
        'find delivery',
        "SELECT * FROM c WHERE c.id = @id AND c.type = 'delivery'",
        [{ name: '@id', value: itemId }],
      );
      doc = found[0] ?? null;
    }
    return doc ? this.#withBody(doc) : null;
  }

  async listDeliveries(registrationId: string, limit: number): Promise<DeliveryRecord[]> {
    if (!isRegistrationId(registrationId)) return [];
    const top = Math.min(Math.trunc(limit), 1000);
    if (!(top > 0)) return [];
    const docs = await this.#query<DeliveryDocument>(
      this.#deliveries,
      'list deliveries',
      "SELECT TOP @top * FROM c WHERE c.registrationId = @registrationId AND c.type = 'delivery' ORDER BY c.receivedAtMs DESC, c.seq DESC",
      [
        { name: '@registrationId', value: registrationId },
        { name: '@top', value: top },
      ],
      registrationId,
    );
    return Promise.all(docs.map((d) => this.#withBody(d)));
  }

  async recentOutcomes(
    registrationId: string,
    outcomes: readonly DeliveryOutcome[],
    limit: number,
  ): Promise<DeliveryOutcome[]> {
    if (!isRegistrationId(registrationId) || outcomes.length === 0) return [];
    const top = Math.min(Math.trunc(limit), 1000);
    if (!(top > 0)) return [];
    // A projection in the registration's partition: no body, inline or chunked, is read.
    return this.#query<DeliveryOutcome>(
      this.#deliveries,
      'recent outcomes',
      "SELECT TOP @top VALUE c.outcome FROM c WHERE c.registrationId = @registrationId AND c.type = 'delivery' AND ARRAY_CONTAINS(@outcomes, c.outcome) ORDER BY c.receivedAtMs DESC, c.seq DESC",
      [
        { name: '@registrationId', value: registrationId },
        { name: '@outcomes', value: [...outcomes] },
        { name: '@top', value: top },
      ],
      registrationId,
    );
  }

  // ------------------------------------------------------------------ outbox

  async claimDue(now: Date, limit: number, leaseMs: number, kind: OutboxTaskKind = 'sync'): Promise<OutboxTask[]> {
    const top = Math.min(Math.trunc(limit), 1000);
    if (!(top > 0)) return [];
    const nowMs = now.getTime();
    const claimed: OutboxTask[] = [];
    const mine = new Set<string>();
    // Rounds: a candidate lost to another dispatcher is leased by then, so the next scan skips it
    // and offers the next due task; every round some dispatcher wins every candidate, so it ends.
    for (let round = 0; round < 10 && claimed.length < top; round++) {
      const wanted = top - claimed.length;
      // A lease of 0 ms leaves our own claims due: never hand one out twice in one call.
      const candidates = (await this.#dueTasks(nowMs, Math.min(wanted * 2, 1000), kind)).filter((c) => !mine.has(c.id));
      if (candidates.length === 0) break;
      let next = 0;
      let inFlight = 0;
      const worker = async (): Promise<void> => {
        // claimed + in flight never exceeds the limit, so no call returns more than it asked for.
        while (next < candidates.length && claimed.length + inFlight < top) {
          const candidate = candidates[next++]!;
          inFlight++;
          try {
            const task = await this.#lease(candidate, nowMs + leaseMs);
            if (task) {
              mine.add(candidate.id);
              claimed.push(task);
            }
          } finally {
            inFlight--;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(wanted, PARALLEL_WRITES) }, worker));
    }
    return claimed.sort((a, b) => a.availableAt.getTime() - b.availableAt.getTime());
  }

  /**
   * The dispatcher's scan is the one cross-partition query of normal operation: due tasks can be in
   * any registration's partition. Claims are then IfMatch replaces, so a task has one owner.
   */
  async #dueTasks(nowMs: number, top: number, kind: OutboxTaskKind): Promise<OutboxDocument[]> {
    const parameters: SqlParameter[] = [
      { name: '@top', value: top },
      { name: '@now', value: nowMs },
    ];
    return this.#query<OutboxDocument>(
      this.#deliveries,
      'find due tasks',
      `SELECT TOP @top * FROM c WHERE c.type = 'outbox' AND ${kindFilter(kind, parameters)} AND ((c.status = 'pending' AND c.availableAtMs <= @now) OR (c.status = 'leased' AND c.leasedUntilMs <= @now)) ORDER BY c.availableAtMs ASC`,
      parameters,
    );
  }

  async #lease(candidate: OutboxDocument, leasedUntilMs: number): Promise<OutboxTask | null> {
    const leased: OutboxDocument = { ...withoutSystem(candidate), status: 'leased', leasedUntilMs };
    const won = await this.#try('lease task', [404, 412], () =>
      this.#deliveries
        .item(candidate.id, candidate.registrationId)
        .replace(leased, { accessCondition: { type: 'IfMatch', condition: candidate._etag ?? '' } }),
    );
    if (!won.ok) return null;
    this.#remember(this.#partitionOf, `o:${candidate.taskId}`, candidate.registrationId);
    return fromOutboxDocument(leased);
  }

  async complete(id: string): Promise<void> {
    const found = await this.#findTask(id);
    if (!found) return;
    // Finished tasks are removed, as in MemoryStore: the outbox holds only work still to do.
    await this.#deleteItem(this.#deliveries, found.id, found.registrationId, 'complete task');
    this.#partitionOf.delete(`o:${id}`);
  }

  /**
   * One transactional batch of deletes per partition (up to 100 tasks each). Tasks this process
   * wrote or claimed are found by their partition hint; the others by one parameterised query.
   * An id already gone fails its whole batch with 404 (and Cosmos writes none of it): that group
   * is then completed one task at a time, where a 404 is fine.
   */
  async completeMany(ids: readonly string[]): Promise<void> {
    const wanted = [...new Set(ids)].filter(isTaskId);
    if (wanted.length === 0) return;
    const partitionOf = new Map<string, string>();
    const unknown: string[] = [];
    for (const id of wanted) {
      const hinted = this.#partitionOf.get(`o:${id}`);
      if (hinted === undefined) unknown.push(id);
      else partitionOf.set(id, hinted);
    }
    for (let start = 0; start < unknown.length; start += FIND_MANY) {
      const found = await this.#query<{ taskId: string; registrationId: string }>(
        this.#deliveries,
        'find tasks',
        "SELECT c.taskId, c.registrationId FROM c WHERE c.type = 'outbox' AND ARRAY_CONTAINS(@ids, c.id)",
        [{ name: '@ids', value: unknown.slice(start, start + FIND_MANY).map((id) => itemKey('o', id)) }],
      );
      for (const task of found) partitionOf.set(task.taskId, task.registrationId);
    }
    const byPartition = new Map<string, string[]>();
    for (const [id, partition] of partitionOf) {
      const group = byPartition.get(partition);
      if (group) group.push(id);
      else byPartition.set(partition, [id]);
    }
    const batches: Array<{ partition: string; ids: string[] }> = [];
    for (const [partition, group] of byPartition) {
      for (let start = 0; start < group.length; start += BATCH_MAX_OPERATIONS)
        batches.push({ partition, ids: group.slice(start, start + BATCH_MAX_OPERATIONS) });
    }
    await this.#forEachLimited(batches, async ({ partition, ids: batch }) => {
      const operations: OperationInput[] = batch.map((id) => ({
        operationType: BulkOperationType.Delete,
        id: itemKey('o', id),
        partitionKey: partition,
      }));
      const results = await this.#runBatch(operations, partition, 'complete tasks');
      if (firstFailure(results) !== undefined) {
        await this.#forEachLimited(batch, (id) =>
          this.#deleteItem(this.#deliveries, itemKey('o', id), partition, 'complete task'),
        );
      }
      for (const id of batch) this.#partitionOf.delete(`o:${id}`);
    });
  }

  async retry(id: string, error: string, availableAt: Date): Promise<OutboxStatus> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const task = await this.#findTask(id);
      if (!task) return 'done';
      if (task.status === 'done' || task.status === 'dead') return task.status;
      const { leasedUntilMs: _, ...rest } = withoutSystem(task);
      const attempts = task.attempts + 1;
      const next: OutboxDocument = {
        ...rest,
        attempts,
        lastError: error.slice(0, 1000),
        availableAtMs: availableAt.getTime(),
        status: attempts >= task.maxAttempts ? 'dead' : 'pending',
      };
      const replaced = await this.#try('retry task', [404, 412], () =>
        this.#deliveries
          .item(task.id, task.registrationId)
          .replace(next, { accessCondition: { type: 'IfMatch', condition: task._etag ?? '' } }),
      );
      if (replaced.ok) return next.status;
    }
    throw new CosmosStoreError('Cosmos DB retry failed (contention)');
  }

  async listOutbox(options: ListOutboxOptions = {}): Promise<OutboxTask[]> {
    const top = Math.max(1, Math.min(Math.trunc(options.limit ?? 100) || 100, 1000));
    const parameters: SqlParameter[] = [{ name: '@top', value: top }];
    const where = ["c.type = 'outbox'", kindFilter(options.kind ?? 'sync', parameters)];
    if (options.status !== undefined) {
      where.push('c.status = @status');
      parameters.push({ name: '@status', value: options.status });
    }
    if (options.tenantId !== undefined) {
      where.push('c.tenantId = @tenantId');
      parameters.push({ name: '@tenantId', value: options.tenantId });
    }
    if (options.integrationId !== undefined) {
      where.push('c.integrationId = @integrationId');
      parameters.push({ name: '@integrationId', value: options.integrationId });
    }
    const docs = await this.#query<OutboxDocument>(
      this.#deliveries,
      'list outbox',
      `SELECT TOP @top * FROM c WHERE ${where.join(' AND ')} ORDER BY c.createdAtMs ASC`,
      parameters,
    );
    return docs.map(fromOutboxDocument);
  }

  async outboxStats(now: Date): Promise<{ pending: number; dead: number; oldestPendingAgeMs: number }> {
    const open = "c.type = 'outbox' AND (c.status = 'pending' OR c.status = 'leased')";
    const [pending, dead, oldest] = await Promise.all([
      this.#query<number>(this.#deliveries, 'count pending tasks', `SELECT VALUE COUNT(1) FROM c WHERE ${open}`, []),
      this.#query<number>(
        this.#deliveries,
        'count dead tasks',
        "SELECT VALUE COUNT(1) FROM c WHERE c.type = 'outbox' AND c.status = 'dead'",
        [],
      ),
      this.#query<number>(
        this.#deliveries,
        'oldest pending task',
        `SELECT VALUE MIN(c.createdAtMs) FROM c WHERE ${open}`,
        [],
      ),
    ]);
    const oldestMs = oldest.filter((v): v is number => typeof v === 'number');
    const oldestPending = oldestMs.length > 0 ? Math.min(now.getTime(), ...oldestMs) : now.getTime();
    return { pending: sum(pending), dead: sum(dead), oldestPendingAgeMs: now.getTime() - oldestPending };
  }

  // ------------------------------------------------------------------ API keys

  async createApiKey(record: ApiKeyRecord): Promise<void> {
    const hashItemId = itemKey('keyhash', record.keyHash);
    const idDoc: ApiKeyIdDocument = {
      id: itemKey('apikey', record.id),
      kind: 'apiKeyId',
      tenantId: record.tenantId,
      hashItemId,
    };
    const keyDoc: ApiKeyDocument = {
      id: hashItemId,
      kind: 'apiKey',
      keyId: record.id,
      tenantId: record.tenantId,
      keyHash: record.keyHash,
      createdAt: record.createdAt.toISOString(),
    };
    if (record.name !== undefined) keyDoc.name = record.name;
    if (record.revokedAt !== undefined) keyDoc.revokedAt = record.revokedAt.toISOString();
    // Two unique ids in a pk /id container: one for the key id, one for its hash.
    const byId = await this.#try('create API key id', [409], () => this.#lookups.items.create(idDoc));
    if (!byId.ok) throw new WebhookError('conflict', 'API key already exists');
    const byHash = await this.#try('create API key', [409], () => this.#lookups.items.create(keyDoc));
    if (!byHash.ok) {
      await this.#deleteItem(this.#lookups, idDoc.id, idDoc.id, 'undo API key id');
      throw new WebhookError('conflict', 'API key already exists');
    }
  }

  async findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | null> {
    if (typeof keyHash !== 'string' || keyHash.length === 0 || keyHash.length > 1000) return null;
    const id = itemKey('keyhash', keyHash);
    const doc = await this.#read<ApiKeyDocument>(this.#lookups, id, id, 'read API key');
    return doc && doc.kind === 'apiKey' && doc.keyHash === keyHash ? fromApiKeyDocument(doc) : null;
  }

  async listApiKeys(tenantId: string): Promise<ApiKeyRecord[]> {
    const docs = await this.#query<ApiKeyDocument>(
      this.#lookups,
      'list API keys',
      "SELECT * FROM c WHERE c.kind = 'apiKey' AND c.tenantId = @tenantId",
      [{ name: '@tenantId', value: tenantId }],
    );
    return docs.map(fromApiKeyDocument).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }

  async revokeApiKey(id: string, tenantId: string, at: Date): Promise<boolean> {
    const idItem = itemKey('apikey', id);
    const pointer = await this.#read<ApiKeyIdDocument>(this.#lookups, idItem, idItem, 'read API key id');
    if (pointer?.kind !== 'apiKeyId' || pointer.tenantId !== tenantId) return false;
    for (let attempt = 0; attempt < 5; attempt++) {
      const key = await this.#read<ApiKeyDocument>(
        this.#lookups,
        pointer.hashItemId,
        pointer.hashItemId,
        'read API key',
      );
      if (!key || key.tenantId !== tenantId) return false;
      if (key.revokedAt !== undefined) return true;
      const replaced = await this.#try('revoke API key', [404, 412], () =>
        this.#lookups
          .item(key.id, key.id)
          .replace(
            { ...withoutSystem(key), revokedAt: at.toISOString() },
            { accessCondition: { type: 'IfMatch', condition: key._etag ?? '' } },
          ),
      );
      if (replaced.ok) return true;
    }
    throw new CosmosStoreError('Cosmos DB revoke failed (contention)');
  }

  // ------------------------------------------------------------------ internals

  async #readPointer(id: string): Promise<RegistrationPointer | null> {
    const pointer = await this.#read<RegistrationPointer>(this.#lookups, id, id, 'read pointer');
    return pointer && pointer.kind === 'registration' ? pointer : null;
  }

  /** A pointer already exists: fine if its registration is gone (a half-done create or delete). */
  async #reclaimPointer(pointer: RegistrationPointer): Promise<void> {
    const existing = await this.#readPointer(pointer.id);
    if (existing) {
      const registration = await this.#read<RegistrationDocument>(
        this.#registrations,
        existing.id,
        existing.tenantId,
        'read registration',
      );
      if (registration) throw new WebhookError('conflict', 'Registration already exists');
    }
    const replaced = await this.#try('replace pointer', [404, 412], () =>
      this.#lookups
        .item(pointer.id, pointer.id)
        .replace(pointer, existing?._etag ? { accessCondition: { type: 'IfMatch', condition: existing._etag } } : {}),
    );
    if (!replaced.ok) throw new WebhookError('conflict', 'Registration already exists');
  }

  async #findTask(id: string): Promise<OutboxDocument | null> {
    if (!isTaskId(id)) return null;
    const itemId = itemKey('o', id);
    const hinted = this.#partitionOf.get(`o:${id}`);
    if (hinted !== undefined) return this.#read<OutboxDocument>(this.#deliveries, itemId, hinted, 'read task');
    // Only a task this process neither wrote nor claimed gets here (an operator's call, or a restart).
    const found = await this.#query<OutboxDocument>(
      this.#deliveries,
      'find task',
      "SELECT * FROM c WHERE c.id = @id AND c.type = 'outbox'",
      [{ name: '@id', value: itemId }],
    );
    return found[0] ?? null;
  }

  async #withBody(doc: DeliveryDocument): Promise<DeliveryRecord> {
    if (doc.bodyChunks === undefined) return fromDeliveryDocument(doc, Buffer.from(doc.body ?? '', 'base64'), false);
    const chunks = await Promise.all(
      Array.from({ length: doc.bodyChunks }, (_, index) =>
        this.#read<BodyChunkDocument>(
          this.#deliveries,
          chunkId(doc.deliveryId, index),
          doc.registrationId,
          'read body chunk',
        ),
      ),
    );
    const parts: Buffer[] = [];
    for (const chunk of chunks) {
      if (!chunk) break;
      parts.push(Buffer.from(chunk.data, 'base64'));
    }
    const body = Buffer.concat(parts);
    // A lost or foreign chunk shows as a truncated body rather than as bytes that were never received.
    const whole =
      parts.length === doc.bodyChunks && body.byteLength === doc.bodyLength && sha256Bytes(body) === doc.bodySha256;
    return fromDeliveryDocument(doc, whole ? body : body.subarray(0, 0), !whole);
  }

  async #pruneRejected(registrationId: string): Promise<void> {
    const rejected = await this.#query<{
      id: string;
      receivedAtMs: number;
      seq: number;
      bodyChunks?: number;
      deliveryId: string;
    }>(
      this.#deliveries,
      'list rejected deliveries',
      "SELECT c.id, c.receivedAtMs, c.seq, c.bodyChunks, c.deliveryId FROM c WHERE c.registrationId = @registrationId AND c.type = 'delivery' AND c.outcome = 'rejected'",
      [{ name: '@registrationId', value: registrationId }],
      registrationId,
    );
    if (rejected.length <= this.#keepRejected) return;
    rejected.sort((a, b) => b.receivedAtMs - a.receivedAtMs || b.seq - a.seq);
    const extra = rejected.slice(this.#keepRejected);
    const ids = extra.flatMap((r) => [
      r.id,
      ...Array.from({ length: r.bodyChunks ?? 0 }, (_, i) => chunkId(r.deliveryId, i)),
    ]);
    await this.#forEachLimited(ids, (id) => this.#deleteItem(this.#deliveries, id, registrationId, 'prune rejected'));
    for (const r of extra) this.#partitionOf.delete(`d:${r.deliveryId}`);
  }

  async #batch(operations: JSONObject[], partition: string): Promise<void> {
    if (operations.length === 0) return;
    const input: OperationInput[] = operations.map((resourceBody) => ({
      operationType: BulkOperationType.Upsert,
      partitionKey: partition,
      resourceBody,
    }));
    const failed = firstFailure(await this.#runBatch(input, partition, 'write delivery batch'));
    if (failed !== undefined) {
      throw new CosmosStoreError(`Cosmos DB write delivery batch failed (status ${failed.status})`, {
        statusCode: failed.status,
      });
    }
  }

  /**
   * One transactional batch in `partition`. A batch that fails is not thrown by the SDK: Cosmos
   * answers 207 with the failing operation's status and 424 for every other one, and has written
   * nothing. The statuses come back here; only transport failures and throttling past the retry
   * budget throw.
   */
  async #runBatch(input: OperationInput[], partition: string, operation: string): Promise<OperationResponse[]> {
    const response = await this.#try(operation, [], () => this.#deliveries.items.batch(input, partition));
    if (!response.ok) throw new CosmosStoreError(`Cosmos DB ${operation} failed`);
    const results = response.value.result ?? [];
    const code = response.value.code;
    if (code !== undefined && code >= 400 && !results.some((r) => r.statusCode >= 400))
      return input.map(() => ({ statusCode: code, requestCharge: 0 }));
    return results;
  }

  async #read<T>(
    container: Container,
    id: string,
    partition: string,
    operation: string,
  ): Promise<(T & { _etag?: string }) | null> {
    const read = await this.#try(operation, [404], () => container.item(id, partition).read<T & { _etag?: string }>());
    if (!read.ok || read.value.statusCode === 404) return null;
    return read.value.resource ?? null;
  }

  async #upsert(container: Container, doc: object, operation: string): Promise<void> {
    await this.#try(operation, [], () => container.items.upsert(json(doc)));
  }

  /** Succeeds when already gone. */
  async #deleteItem(container: Container, id: string, partition: string, operation: string): Promise<void> {
    await this.#try(operation, [404], () => container.item(id, partition).delete());
  }

  /** Every query is parameterised: ids and filters travel as `@parameters`, never as query text. */
  async #query<T>(
    container: Container,
    operation: string,
    query: string,
    parameters: SqlParameter[],
    partition?: string,
  ): Promise<T[]> {
    const result = await this.#try(operation, [], () =>
      container.items
        .query<T>({ query, parameters }, partition === undefined ? {} : { partitionKey: partition })
        .fetchAll(),
    );
    if (!result.ok) return [];
    return result.value.resources;
  }

  /** Runs an SDK call; the listed statuses come back as values, anything else as a CosmosStoreError. */
  async #try<T>(operation: string, expected: readonly number[], call: () => Promise<T>): Promise<Attempt<T>> {
    try {
      return { ok: true, value: await call() };
    } catch (error) {
      const status = statusOf(error);
      if (status !== undefined && expected.includes(status)) return { ok: false, status };
      throw toStoreError(error, operation);
    }
  }

  async #forEachLimited<T>(
    items: readonly T[],
    work: (item: T) => Promise<void>,
    concurrency = PARALLEL_WRITES,
  ): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < items.length) {
        const item = items[next++]!;
        await work(item);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  }

  #remember(map: Map<string, string>, key: string, value: string): void {
    map.delete(key);
    map.set(key, value);
    if (map.size > HINT_CAPACITY) map.delete(map.keys().next().value as string);
  }

  /** Microseconds since the epoch, strictly increasing in this process. */
  #nextSeq(): number {
    this.#lastSeq = Math.max(Date.now() * 1000, this.#lastSeq + 1);
    return this.#lastSeq;
  }
}

/** Unknown task ids looked up by one query, this many at a time. */
const FIND_MANY = 500;

const isTaskId = (id: unknown): id is string => typeof id === 'string' && id.length > 0 && id.length <= 1000;

/** The outbox filter for one kind of task: a task written before kinds existed is a sync task. */
function kindFilter(kind: OutboxTaskKind, parameters: SqlParameter[]): string {
  parameters.push({ name: '@kind', value: kind });
  return kind === 'sync' ? '(c.kind = @kind OR NOT IS_DEFINED(c.kind))' : 'c.kind = @kind';
}

/** The operation that failed a batch: the first status >= 400 other than 424 (failed dependency). */
function firstFailure(results: readonly OperationResponse[]): { index: number; status: number } | undefined {
  let dependent: { index: number; status: number } | undefined;
  for (const [index, result] of results.entries()) {
    if (result.statusCode < 400) continue;
    if (result.statusCode !== 424) return { index, status: result.statusCode };
    dependent ??= { index, status: result.statusCode };
  }
  return dependent;
}

/** Cosmos TTLs are whole seconds, at least one. */
const ttlSeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

/** A claim as `append` commits it: an upsert, so a claim that is missing is created committed. */
function committedClaim(registrationId: string, key: string, expiresAt: Date, from: Date): ClaimDocument {
  if (typeof key !== 'string') throw new WebhookError('invalid_request', 'Dedupe keys are strings');
  return {
    id: claimItemId(key),
    type: 'claim',
    registrationId,
    state: 'committed',
    expiresAtMs: expiresAt.getTime(),
    // Counted by Cosmos from the write, a little after `from` (when the delivery arrived): the item
    // outlives its logical expiry by that much, never the other way round.
    ttl: ttlSeconds(expiresAt.getTime() - from.getTime()),
  };
}

function assertRegistrationId(id: string): void {
  if (!isRegistrationId(id)) throw new WebhookError('invalid_request', 'Invalid registration id');
}

const chunkId = (deliveryId: string, index: number): string => `${itemKey('b', deliveryId)}.${index}`;

function sha256Bytes(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The SDK's item bodies are JSON objects; our documents are plain JSON by construction. */
const json = (doc: object): JSONObject => doc as JSONObject;

const byteSize = (doc: object): number => Buffer.byteLength(JSON.stringify(doc), 'utf8') + 64;

/** Packs documents into batches within the operation and size limits. */
function packBatches(docs: JSONObject[]): JSONObject[][] {
  const batches: JSONObject[][] = [];
  let current: JSONObject[] = [];
  let bytes = 0;
  for (const doc of docs) {
    const size = byteSize(doc);
    if (current.length > 0 && (current.length >= BATCH_MAX_OPERATIONS || bytes + size > BATCH_MAX_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(doc);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

const sum = (values: number[]): number => values.reduce((total, v) => total + (typeof v === 'number' ? v : 0), 0);

const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function encodeToken(createdAt: string, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id]), 'utf8').toString('base64url');
}

function decodeToken(token: string): { createdAt: string; id: string } {
  try {
    const value: unknown =
      token.length <= 400 ? JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) : undefined;
    if (Array.isArray(value) && typeof value[0] === 'string' && ISO_DATE.test(value[0]) && isRegistrationId(value[1])) {
      return { createdAt: value[0], id: value[1] };
    }
  } catch {
    // fall through: a token we did not issue
  }
  throw new WebhookError('invalid_request', 'Invalid continuation token');
}
