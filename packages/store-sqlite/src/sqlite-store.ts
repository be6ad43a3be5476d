import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ApiKeyRecord,
  type ApiKeyStore,
  type ClaimResult,
  type Clock,
  type CounterOutcome,
  type DedupeCommit,
  type DeliveryOutcome,
  type DeliveryRecord,
  type DeliveryStore,
  decodePublishedEvent,
  encodePublishedEvent,
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
  type PreviousSecret,
  type RegistrationCounters,
  type RegistrationStore,
  type SecretBox,
  type SyncTask,
  systemClock,
  type UpdateOptions,
  WebhookError,
  type WebhookRegistration,
} from '@webhooks/core';
import Database from 'better-sqlite3';
import { migrate } from './schema.js';

export interface SqliteStoreOptions {
  /** The database file, or ':memory:' (lost on close). Give this or `dataDir`. */
  path?: string;
  /** A directory (created when missing) that holds `webhooks.sqlite` and its WAL files. */
  dataDir?: string;
  /** Seals webhook secrets at rest; the same key must open the file again. */
  secretBox: SecretBox;
  /** The time `pruneExpired` uses when given none. */
  clock?: Clock;
  /** Rejected deliveries kept per registration (the newest). Default 100. */
  keepRejected?: number;
  /** Deliveries of other outcomes kept per registration, trimmed by `pruneExpired`. Default 10 000. */
  keepDeliveries?: number;
  /**
   * 'full' (default): every write the receiver acknowledges on (a delivery append with its
   * committed dedupe claims, a registration, an API key) is fsynced before its promise resolves, so
   * a 2xx survives a power cut. Pending dedupe claims, counters and outbox leases commit without
   * their own fsync: the WAL is sequential, so the next fsynced append makes them durable too, and
   * losing one on a power cut only lets the provider's retry claim again, re-sends a task or
   * under-counts. 'normal' fsyncs nothing per commit (SQLite's WAL default): a process crash loses
   * nothing, a power cut may lose the last commits; for providers that redeliver anyway.
   */
  synchronous?: 'full' | 'normal';
  /** How long a write waits for another connection's lock before failing. Default 5000. */
  busyTimeoutMs?: number;
  /** Runs `pruneExpired` this often in the background (the timer does not keep the process up); 0 turns it off. Default one hour. */
  pruneIntervalMs?: number;
}

export interface PruneResult {
  /** Expired dedupe claims deleted. */
  dedupeClaims: number;
  /** Deliveries deleted beyond `keepDeliveries` per registration. */
  deliveries: number;
}

/** Registration and delivery ids are ours; anything else never reaches a query. */
const OUR_ID = /^[A-Za-z0-9_-]{1,100}$/;
const DATABASE_FILE = 'webhooks.sqlite';
const PRUNE_BATCH = 5000;

/**
 * The claim: one statement, so exactly one caller wins however many race, in this process or in
 * another on the same file. It inserts a pending claim, or takes over a claim (pending or
 * committed) that has expired; `changes` is 1 only for the winner.
 */
export const CLAIM_DEDUPE_KEY_SQL = `
  INSERT INTO dedupe_claims (registration_id, key, expires_at, state)
  VALUES (@registrationId, @key, @expiresAt, 'pending')
  ON CONFLICT (registration_id, key) DO UPDATE SET expires_at = excluded.expires_at, state = 'pending'
  WHERE dedupe_claims.expires_at <= @now`;

export function isOurId(id: unknown): id is string {
  return typeof id === 'string' && OUR_ID.test(id);
}

/**
 * Registrations (secrets sealed), deliveries (raw body as a BLOB), dedupe claims, the sync-task
 * outbox and hashed API keys in one SQLite file, in WAL mode: the receiver's embedded default.
 * Every call is one synchronous statement or one IMMEDIATE transaction, so concurrent callers in
 * this process are serialised by the event loop and other processes by SQLite's write lock.
 */
export class SqliteStore implements RegistrationStore, DeliveryStore, OutboxStore, ApiKeyStore {
  /** The database file (':memory:' for an in-memory database). */
  readonly path: string;
  readonly #db: Database.Database;
  readonly #secretBox: SecretBox;
  readonly #clock: Clock;
  readonly #keepRejected: number;
  readonly #keepDeliveries: number;
  readonly #sql: ReturnType<typeof prepareStatements>;
  readonly #appendTx: (batch: PendingAppend[]) => void;
  readonly #durable: boolean;
  /** Appends waiting for the next group commit. */
  #pending: PendingAppend[] = [];
  #flushScheduled = false;
  /** Committed appends waiting for the WAL's fdatasync ('full' mode). */
  #unsynced: PendingAppend[] = [];
  #walSync: Promise<void> | undefined;
  #walFile: FileHandle | undefined;
  readonly #createTx: (row: RegistrationRow) => void;
  readonly #deleteTx: (id: string) => void;
  readonly #completeManyTx: (ids: readonly string[]) => void;
  #pruneTimer: NodeJS.Timeout | undefined;

  constructor(options: SqliteStoreOptions) {
    if (!options?.secretBox) throw new TypeError('SqliteStore needs a secretBox to seal webhook secrets');
    if (options.path === undefined && options.dataDir === undefined)
      throw new TypeError('SqliteStore needs a path or a dataDir');
    if (options.dataDir !== undefined && options.path === undefined) mkdirSync(options.dataDir, { recursive: true });
    this.path = options.path ?? join(options.dataDir!, DATABASE_FILE);
    this.#secretBox = options.secretBox;
    this.#clock = options.clock ?? systemClock;
    this.#keepRejected = options.keepRejected ?? 100;
    this.#keepDeliveries = options.keepDeliveries ?? 10_000;

    const db = new Database(this.path);
    try {
      // The busy timeout first: the pragmas below may already wait for another opener's lock.
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
      db.pragma('journal_mode = WAL');
      // NORMAL for the connection; the durable writes switch to FULL around their own commit.
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      // A checkpoint after a 25 MB body would otherwise leave the WAL file that large for good.
      db.pragma('journal_size_limit = 67108864');
      migrate(db);
    } catch (error) {
      db.close();
      throw error;
    }
    this.#db = db;
    this.#sql = prepareStatements(db);
    this.#durable = options.synchronous !== 'normal' && this.path !== ':memory:' && this.path !== '';

    const sql = this.#sql;
    const write = ({ delivery, tasks, commit }: PendingAppend, commitClaims = true): void => {
      sql.insertDelivery.run(delivery);
      if (delivery.outcome === 'rejected') {
        sql.trimRejected.run({ registrationId: delivery.registration_id, keep: this.#keepRejected });
      }
      for (const task of tasks) sql.upsertTask.run(task);
      if (commitClaims) for (const claim of commit) sql.commitClaim.run(claim);
    };
    // Inside the group commit's transaction. The claims go first: when one is held, the ones this
    // append created before it are deleted again and nothing else was written (no SAVEPOINT needed;
    // a claim it took over had expired, and deleting it is what pruning would do).
    const freshWrite = (item: PendingAppend, fresh: FreshRow): FreshAppendResult => {
      for (let i = 0; i < item.commit.length; i++) {
        if (sql.freshClaim.run({ ...item.commit[i]!, now: fresh.now }).changes === 1) continue;
        for (let j = 0; j < i; j++) sql.release.run(item.commit[j]!);
        return { status: 'conflict', counted: false };
      }
      write(item, false); // its claims are already written, committed
      return { status: 'stored', counted: false };
    };
    this.#appendTx = db.transaction((batch: PendingAppend[]) => {
      // The successes to count, by registration: one UPDATE each per batch, not one per delivery.
      const toCount = new Map<string, { at: number; items: PendingAppend[] }>();
      for (const item of batch) {
        if (!item.fresh) {
          write(item);
          continue;
        }
        item.result = freshWrite(item, item.fresh);
        if (item.result.status !== 'stored' || !item.fresh.countSuccess) continue;
        const registrationId = item.delivery.registration_id;
        const counting = toCount.get(registrationId);
        if (counting) {
          counting.at = item.fresh.now;
          counting.items.push(item);
        } else toCount.set(registrationId, { at: item.fresh.now, items: [item] });
      }
      for (const [id, { at, items }] of toCount) {
        // No counters row (an unknown registration): the caller counts, as for any store that cannot.
        if (sql.countSuccess.run({ id, at, count: items.length }).changes !== 1) continue;
        for (const item of items) item.result = { status: 'stored', counted: true };
      }
    }).immediate;
    this.#createTx = db.transaction((row: RegistrationRow) => {
      sql.insertRegistration.run(row);
      sql.insertCounters.run({ id: row.id });
    }).immediate;
    this.#deleteTx = db.transaction((id: string) => {
      sql.deleteDeliveriesOf.run({ id });
      sql.deleteCounters.run({ id });
      sql.deleteRegistration.run({ id });
    }).immediate;

    this.#completeManyTx = db.transaction((ids: readonly string[]) => {
      for (const id of ids) sql.completeTask.run({ id: String(id) });
    });

    const interval = options.pruneIntervalMs ?? 3_600_000;
    if (interval > 0) {
      this.#pruneTimer = setInterval(() => {
        try {
          this.pruneExpired();
        } catch {
          // A busy or closed database: the next run catches up.
        }
      }, interval);
      this.#pruneTimer.unref();
    }
  }

  // ---------------------------------------------------------------- RegistrationStore

  async get(id: string): Promise<WebhookRegistration | null> {
    if (!isOurId(id)) return null;
    const row = this.#sql.getRegistration.get({ id });
    return row ? this.#decodeRegistration(row) : null;
  }

  async create(registration: WebhookRegistration): Promise<WebhookRegistration> {
    if (!isOurId(registration.id)) {
      throw new WebhookError('invalid_request', 'Registration ids are 1 to 100 letters, digits, "_" or "-"');
    }
    const etag = newEtag();
    const row = this.#encodeRegistration(registration, etag);
    try {
      this.#sync(() => this.#createTx(row));
    } catch (error) {
      if (isConstraintError(error)) throw new WebhookError('conflict', 'Registration already exists');
      throw error;
    }
    return { ...structuredClone(registration), etag };
  }

  async update(registration: WebhookRegistration, options: UpdateOptions = {}): Promise<WebhookRegistration> {
    if (!isOurId(registration.id)) throw new WebhookError('not_found', 'Registration not found');
    const etag = newEtag();
    // Compare-and-set in one statement: the etag check and the write cannot be split by another writer.
    const row = { ...this.#encodeRegistration(registration, etag), ifMatch: options.ifMatch ?? null };
    const { changes } = this.#sync(() => this.#sql.updateRegistration.run(row));
    if (changes === 0) {
      if (!this.#sql.registrationExists.get({ id: registration.id }))
        throw new WebhookError('not_found', 'Registration not found');
      throw new WebhookError('conflict', 'Registration was changed by someone else');
    }
    return { ...structuredClone(registration), etag };
  }

  async delete(id: string): Promise<void> {
    if (!isOurId(id)) return;
    this.#sync(() => this.#deleteTx(id));
  }

  async listRegistrations(
    tenantId: string,
    options: ListRegistrationsOptions = {},
  ): Promise<Page<WebhookRegistration>> {
    const limit = Math.max(1, Math.min(Math.floor(options.limit ?? 100) || 100, 1000));
    const after = options.continuationToken === undefined ? null : decodeToken(options.continuationToken);
    const rows = this.#sql.listRegistrations.all({
      tenantId,
      integrationId: options.integrationId ?? null,
      connectionId: options.connectionId ?? null,
      status: options.status ?? null,
      afterCreatedAt: after?.createdAt ?? null,
      afterId: after?.id ?? null,
      limit: limit + 1,
    });
    const items = rows.slice(0, limit).map((row) => this.#decodeRegistration(row));
    const page: Page<WebhookRegistration> = { items };
    const last = rows.length > limit ? rows[limit - 1] : undefined;
    // Keyset paging: a token names the last row seen, so inserts and deletes never shift a page.
    if (last) page.continuationToken = encodeToken({ createdAt: last.created_at, id: last.id });
    return page;
  }

  async counts(tenantId?: string): Promise<{ total: number; failed: number }> {
    const row = this.#sql.counts.get({ tenantId: tenantId ?? null });
    return { total: row?.total ?? 0, failed: row?.failed ?? 0 };
  }

  async recordOutcome(id: string, outcome: CounterOutcome, at: Date, count = 1): Promise<void> {
    if (!isOurId(id) || !(count >= 1) || !Number.isFinite(count)) return;
    // `x = x + 1` in the database: never a read-modify-write, so concurrent receivers all count.
    const statement =
      outcome === 'success'
        ? this.#sql.countSuccess
        : outcome === 'failure'
          ? this.#sql.countFailure
          : this.#sql.countVerificationFailure;
    statement.run({ id, at: time(at), count: Math.floor(count) });
  }

  async getCounters(id: string): Promise<RegistrationCounters> {
    const row = isOurId(id) ? this.#sql.getCounters.get({ id }) : undefined;
    const counters: RegistrationCounters = {
      processedEventCount: row?.processed_event_count ?? 0,
      failureCount: row?.failure_count ?? 0,
      verificationFailureCount: row?.verification_failure_count ?? 0,
    };
    if (row?.last_event_at != null) counters.lastEventAt = new Date(row.last_event_at);
    if (row?.last_failure_at != null) counters.lastFailureAt = new Date(row.last_failure_at);
    if (row?.last_verification_failure_at != null)
      counters.lastVerificationFailureAt = new Date(row.last_verification_failure_at);
    return counters;
  }

  // ---------------------------------------------------------------- DeliveryStore

  async claimDedupeKey(registrationId: string, key: string, leaseMs: number, now: Date): Promise<ClaimResult> {
    if (!isOurId(registrationId)) throw new WebhookError('invalid_request', 'Not a registration id');
    if (typeof key !== 'string' || !Number.isFinite(leaseMs) || leaseMs < 0) {
      throw new WebhookError('invalid_request', 'A dedupe claim needs a string key and a finite leaseMs >= 0');
    }
    const at = time(now);
    if (this.#sql.claim.run({ registrationId, key, expiresAt: at + leaseMs, now: at }).changes === 1) return 'claimed';
    // Someone else holds it. Read apart from the claim: in between, another process may have
    // committed it (then it is a duplicate), released it or let it lapse (then the provider's retry
    // will claim it): every case but a committed claim is answered 'in_progress', which only asks
    // for a retry.
    const held = this.#sql.readClaim.get({ registrationId, key });
    return held?.state === 'committed' && held.expires_at > at ? 'duplicate' : 'in_progress';
  }

  async releaseDedupeKey(registrationId: string, key: string): Promise<void> {
    if (!isOurId(registrationId)) return;
    this.#sql.release.run({ registrationId, key });
  }

  async append(record: DeliveryRecord, tasks: NewOutboxTask[] = [], commit?: DedupeCommit): Promise<void> {
    await this.#enqueueAppend(record, tasks, commit, undefined);
  }

  /**
   * The one-write receive: in the same transaction (and group commit) as the delivery and its
   * tasks, creates its claims committed, unless one is held and unexpired (then nothing is
   * written: 'conflict'), and counts the success.
   */
  async appendFresh(record: DeliveryRecord, tasks: NewOutboxTask[], fresh: FreshAppend): Promise<FreshAppendResult> {
    const result = await this.#enqueueAppend(record, tasks, fresh.commit, {
      now: time(fresh.now),
      countSuccess: fresh.countSuccess === true,
    });
    return result ?? { status: 'conflict', counted: false };
  }

  #enqueueAppend(
    record: DeliveryRecord,
    tasks: NewOutboxTask[],
    commit: DedupeCommit | undefined,
    fresh: FreshRow | undefined,
  ): Promise<FreshAppendResult | undefined> {
    if (!isOurId(record.registrationId) || !isOurId(record.id)) {
      throw new WebhookError(
        'invalid_request',
        'Delivery and registration ids are 1 to 100 letters, digits, "_" or "-"',
      );
    }
    // The delivery, its sync tasks and its committed claims in one transaction: either all are
    // durable or none. Encoded now (the body copied), so what is written is what was appended,
    // whatever the caller does next.
    const delivery = deliveryRow(record);
    const taskRows = tasks.map((task) => taskRow(task, record.receivedAt));
    const claimRows = commit ? commitRows(record.registrationId, commit) : [];
    // Appends that arrive while a commit is being written share the next one (group commit): a busy
    // receiver pays one commit, and in 'full' mode one fsync, per batch rather than per delivery.
    return new Promise<FreshAppendResult | undefined>((resolve, reject) => {
      const item: PendingAppend = { delivery, tasks: taskRows, commit: claimRows, resolve, reject };
      if (fresh) item.fresh = fresh;
      this.#pending.push(item);
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    const committed: PendingAppend[] = [];
    try {
      this.#appendTx(batch);
      committed.push(...batch);
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      // One bad record must not fail its neighbours: write each alone, so only it is refused.
      for (const item of batch) {
        try {
          delete item.result;
          this.#appendTx([item]);
          committed.push(item);
        } catch (itemError) {
          item.reject(itemError);
        }
      }
    }
    this.#whenDurable(committed);
  }

  /**
   * Resolves committed appends once they are on disk. In 'full' mode the append transactions
   * commit to the WAL without an fsync of their own; then one fdatasync of the WAL file, in libuv's
   * thread pool, makes every commit before it durable, while the event loop goes on serving (and
   * committing the next batch, which waits for the next fdatasync). A repeat that finds one of
   * these claims committed is answered only after its own append, so after a later fdatasync: it
   * is never told "duplicate" of something not yet on disk.
   */
  #whenDurable(items: PendingAppend[]): void {
    if (items.length === 0) return;
    if (!this.#durable) {
      for (const item of items) item.resolve(item.result);
      return;
    }
    this.#unsynced.push(...items);
    this.#walSync ??= this.#syncWal().finally(() => {
      this.#walSync = undefined;
    });
  }

  async #syncWal(): Promise<void> {
    while (this.#unsynced.length > 0) {
      const items = this.#unsynced.splice(0);
      try {
        this.#walFile ??= await open(`${this.path}-wal`, 'r');
        await this.#walFile.datasync();
        for (const item of items) item.resolve(item.result);
      } catch (error) {
        // Not known to be on disk: refused, so nothing is acknowledged (the provider retries).
        await this.#walFile?.close().catch(() => undefined);
        this.#walFile = undefined;
        for (const item of items) item.reject(error);
      }
    }
  }

  /** Runs a write whose commit must reach the disk before it returns (in 'full' mode). */
  #sync<T>(write: () => T): T {
    if (!this.#durable) return write();
    this.#sql.synchronousFull.run();
    try {
      return write();
    } finally {
      this.#sql.synchronousNormal.run();
    }
  }

  async getDelivery(id: string): Promise<DeliveryRecord | null> {
    if (!isOurId(id)) return null;
    const row = this.#sql.getDelivery.get({ id });
    return row ? decodeDelivery(row) : null;
  }

  async listDeliveries(registrationId: string, limit: number): Promise<DeliveryRecord[]> {
    if (!isOurId(registrationId) || !(limit > 0)) return [];
    const rows = this.#sql.listDeliveries.all({
      registrationId,
      limit: Number.isFinite(limit) ? Math.floor(limit) : -1,
    });
    return rows.map(decodeDelivery);
  }

  async recentOutcomes(
    registrationId: string,
    outcomes: readonly DeliveryOutcome[],
    limit: number,
  ): Promise<DeliveryOutcome[]> {
    if (!isOurId(registrationId) || !(limit > 0) || outcomes.length === 0) return [];
    const rows = this.#sql.recentOutcomes.all({
      registrationId,
      outcomes: JSON.stringify(outcomes),
      limit: Number.isFinite(limit) ? Math.floor(limit) : -1,
    });
    return rows.map((row) => row.outcome);
  }

  // ---------------------------------------------------------------- OutboxStore

  async claimDue(now: Date, limit: number, leaseMs: number, kind: OutboxTaskKind = 'sync'): Promise<OutboxTask[]> {
    if (!(limit > 0)) return [];
    const at = time(now);
    // One UPDATE ... RETURNING: the choice of tasks and their lease are one atomic step.
    const rows = this.#sql.claimDue.all({
      kind: kind === 'publish' ? 'publish' : 'sync',
      now: at,
      leasedUntil: at + leaseMs,
      limit: Number.isFinite(limit) ? Math.floor(limit) : -1,
    });
    return rows.sort((a, b) => a.available_at - b.available_at || a.seq - b.seq).map(decodeTask);
  }

  async complete(id: string): Promise<void> {
    // Finished tasks are dropped, as in the in-memory store: the table holds only work still to do.
    this.#sql.completeTask.run({ id });
  }

  async completeMany(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) this.#completeManyTx(ids);
  }

  async retry(id: string, error: string, availableAt: Date): Promise<OutboxStatus> {
    const row = this.#sql.retryTask.get({ id, error: String(error), availableAt: time(availableAt) });
    if (row) return row.status;
    return this.#sql.taskStatus.get({ id })?.status ?? 'done';
  }

  async listOutbox(options: ListOutboxOptions = {}): Promise<OutboxTask[]> {
    const limit = options.limit ?? 100;
    if (!(limit > 0)) return [];
    const rows = this.#sql.listOutbox.all({
      tenantId: options.tenantId ?? null,
      integrationId: options.integrationId ?? null,
      status: options.status ?? null,
      kind: options.kind === 'publish' ? 'publish' : 'sync',
      limit: Number.isFinite(limit) ? Math.floor(limit) : -1,
    });
    return rows.map(decodeTask);
  }

  async outboxStats(now: Date): Promise<{ pending: number; dead: number; oldestPendingAgeMs: number }> {
    const row = this.#sql.outboxStats.get();
    const at = time(now);
    const oldest = row?.oldest ?? at;
    return { pending: row?.pending ?? 0, dead: row?.dead ?? 0, oldestPendingAgeMs: Math.max(0, at - oldest) };
  }

  // ---------------------------------------------------------------- ApiKeyStore

  async createApiKey(record: ApiKeyRecord): Promise<void> {
    const row = {
      id: record.id,
      tenantId: record.tenantId,
      keyHash: record.keyHash,
      name: record.name ?? null,
      createdAt: time(record.createdAt),
      revokedAt: record.revokedAt === undefined ? null : time(record.revokedAt),
    };
    try {
      this.#sync(() => this.#sql.insertApiKey.run(row));
    } catch (error) {
      if (isConstraintError(error)) throw new WebhookError('conflict', 'API key already exists');
      throw error;
    }
  }

  async findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | null> {
    const row = this.#sql.findApiKey.get({ keyHash });
    return row ? decodeApiKey(row) : null;
  }

  async listApiKeys(tenantId: string): Promise<ApiKeyRecord[]> {
    return this.#sql.listApiKeys.all({ tenantId }).map(decodeApiKey);
  }

  async revokeApiKey(id: string, tenantId: string, at: Date): Promise<boolean> {
    // COALESCE keeps the first revocation time, so revoking again is a harmless success.
    const row = { id, tenantId, at: time(at) };
    return this.#sync(() => this.#sql.revokeApiKey.run(row)).changes > 0;
  }

  // ---------------------------------------------------------------- maintenance

  /**
   * Deletes dedupe claims that expired at `now` and deliveries beyond `keepDeliveries` per
   * registration. Claims go in batches so a receive never waits long behind the cleanup.
   */
  pruneExpired(now: Date = new Date(this.#clock.now())): PruneResult {
    const at = time(now);
    let dedupeClaims = 0;
    for (;;) {
      const { changes } = this.#sql.pruneClaims.run({ now: at, batch: PRUNE_BATCH });
      dedupeClaims += changes;
      if (changes < PRUNE_BATCH) break;
    }
    const deliveries = this.#sql.trimDeliveries.run({ keep: this.#keepDeliveries }).changes;
    return { dedupeClaims, deliveries };
  }

  /** Closes the database; later calls fail (and the service answers 503). Safe to call twice. */
  async close(): Promise<void> {
    // Appends already promised are written (and synced) first.
    if (this.#db.open) this.#flush();
    await this.#walSync;
    await this.#walFile?.close().catch(() => undefined);
    this.#walFile = undefined;
    if (this.#pruneTimer) clearInterval(this.#pruneTimer);
    this.#pruneTimer = undefined;
    if (this.#db.open) this.#db.close();
  }

  // ---------------------------------------------------------------- encoding

  #encodeRegistration(registration: WebhookRegistration, etag: string): RegistrationRow {
    const document: RegistrationDocument = {
      webhookUrl: registration.webhookUrl,
      events: registration.events,
      isVerified: registration.isVerified,
      failureCount: registration.failureCount,
    };
    if (registration.providerWebhookId !== undefined) document.providerWebhookId = registration.providerWebhookId;
    if (registration.metadata !== undefined) document.metadata = registration.metadata;
    if (registration.retryPolicy !== undefined) document.retryPolicy = registration.retryPolicy;
    if (registration.providerOptions !== undefined) document.providerOptions = registration.providerOptions;
    const previous = registration.previousSecrets;
    return {
      id: registration.id,
      tenant_id: registration.tenantId,
      integration_id: registration.integrationId,
      connection_id: registration.connectionId,
      status: registration.status,
      created_at: time(registration.createdAt),
      updated_at: time(registration.updatedAt),
      etag,
      secret_sealed: this.#secretBox.seal(registration.webhookSecret),
      previous_secrets_sealed:
        previous === undefined
          ? null
          : this.#secretBox.seal(
              JSON.stringify(previous.map((p) => ({ secret: p.secret, expiresAt: time(p.expiresAt) }))),
            ),
      document: JSON.stringify(document),
    };
  }

  #decodeRegistration(row: RegistrationRow): WebhookRegistration {
    const document = JSON.parse(row.document) as RegistrationDocument;
    const registration: WebhookRegistration = {
      id: row.id,
      tenantId: row.tenant_id,
      integrationId: row.integration_id,
      connectionId: row.connection_id,
      webhookUrl: document.webhookUrl,
      webhookSecret: this.#secretBox.open(row.secret_sealed),
      events: document.events,
      status: row.status,
      isVerified: document.isVerified,
      failureCount: document.failureCount,
      createdAt: new Date(row.created_at),
      updatedAt: new Date(row.updated_at),
      etag: row.etag,
    };
    if (row.previous_secrets_sealed !== null) {
      const previous = JSON.parse(this.#secretBox.open(row.previous_secrets_sealed)) as Array<{
        secret: string;
        expiresAt: number;
      }>;
      registration.previousSecrets = previous.map(
        (p): PreviousSecret => ({ secret: p.secret, expiresAt: new Date(p.expiresAt) }),
      );
    }
    if (document.providerWebhookId !== undefined) registration.providerWebhookId = document.providerWebhookId;
    if (document.metadata !== undefined) registration.metadata = document.metadata;
    if (document.retryPolicy !== undefined) registration.retryPolicy = document.retryPolicy;
    if (document.providerOptions !== undefined) registration.providerOptions = document.providerOptions;
    return registration;
  }
}

/** Opens (creating and migrating when needed) the embedded store. */
export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(options);
}

// ------------------------------------------------------------------ rows

interface PendingAppend {
  delivery: DeliveryRowInput;
  tasks: TaskRowInput[];
  /** Claims the append commits. */
  commit: ClaimRow[];
  /** Present for appendFresh: its claims must be free, and it may count the success. */
  fresh?: FreshRow;
  /** What appendFresh answers, set by the transaction. */
  result?: FreshAppendResult;
  resolve(result?: FreshAppendResult): void;
  reject(error: unknown): void;
}

interface FreshRow {
  now: number;
  countSuccess: boolean;
}

interface RegistrationRow {
  id: string;
  tenant_id: string;
  integration_id: string;
  connection_id: string;
  status: WebhookRegistration['status'];
  created_at: number;
  updated_at: number;
  etag: string;
  secret_sealed: string;
  previous_secrets_sealed: string | null;
  document: string;
}

type RegistrationDocument = Pick<WebhookRegistration, 'webhookUrl' | 'events' | 'isVerified' | 'failureCount'> &
  Partial<Pick<WebhookRegistration, 'providerWebhookId' | 'metadata' | 'retryPolicy' | 'providerOptions'>>;

interface CountersRow {
  processed_event_count: number;
  failure_count: number;
  verification_failure_count: number;
  last_event_at: number | null;
  last_failure_at: number | null;
  last_verification_failure_at: number | null;
}

interface DeliveryRow {
  id: string;
  registration_id: string;
  tenant_id: string;
  received_at: number;
  outcome: DeliveryRecord['outcome'];
  headers: string;
  body: Buffer;
  details: string;
}

/** Every field of a DeliveryRecord that has no column of its own. */
type DeliveryRowInput = Omit<DeliveryRow, 'body'> & { body: Buffer };
type TaskRowInput = ReturnType<typeof taskRow>;

type DeliveryDetails = Omit<
  DeliveryRecord,
  'id' | 'registrationId' | 'tenantId' | 'receivedAt' | 'outcome' | 'headers' | 'body'
>;

interface TaskRow {
  seq: number;
  id: string;
  message_id: string;
  kind: OutboxTaskKind;
  task: string;
  event: string | null;
  status: OutboxStatus;
  attempts: number;
  max_attempts: number;
  available_at: number;
  leased_until: number | null;
  created_at: number;
  last_error: string | null;
}

interface ApiKeyRow {
  id: string;
  tenant_id: string;
  key_hash: string;
  name: string | null;
  created_at: number;
  revoked_at: number | null;
}

const TASK_COLUMNS =
  'rowid AS seq, id, message_id, kind, task, event, status, attempts, max_attempts, available_at, leased_until, created_at, last_error';

/** Every statement, prepared once per connection. Values are always bound, never spliced into SQL text. */
function prepareStatements(db: Database.Database) {
  type Id = { id: string };
  return {
    synchronousFull: db.prepare('PRAGMA synchronous = FULL'),
    synchronousNormal: db.prepare('PRAGMA synchronous = NORMAL'),
    getRegistration: db.prepare<Id, RegistrationRow>('SELECT * FROM registrations WHERE id = @id'),
    registrationExists: db.prepare<Id, { found: 1 }>('SELECT 1 AS found FROM registrations WHERE id = @id'),
    insertRegistration: db.prepare<RegistrationRow>(
      `INSERT INTO registrations (id, tenant_id, integration_id, connection_id, status, created_at, updated_at, etag,
         secret_sealed, previous_secrets_sealed, document)
       VALUES (@id, @tenant_id, @integration_id, @connection_id, @status, @created_at, @updated_at, @etag,
         @secret_sealed, @previous_secrets_sealed, @document)`,
    ),
    updateRegistration: db.prepare<RegistrationRow & { ifMatch: string | null }>(
      `UPDATE registrations SET tenant_id = @tenant_id, integration_id = @integration_id, connection_id = @connection_id,
         status = @status, created_at = @created_at, updated_at = @updated_at, etag = @etag, secret_sealed = @secret_sealed,
         previous_secrets_sealed = @previous_secrets_sealed, document = @document
       WHERE id = @id AND (@ifMatch IS NULL OR etag = @ifMatch)`,
    ),
    deleteRegistration: db.prepare<Id>('DELETE FROM registrations WHERE id = @id'),
    deleteDeliveriesOf: db.prepare<Id>('DELETE FROM deliveries WHERE registration_id = @id'),
    deleteCounters: db.prepare<Id>('DELETE FROM registration_counters WHERE registration_id = @id'),
    listRegistrations: db.prepare<
      {
        tenantId: string;
        integrationId: string | null;
        connectionId: string | null;
        status: string | null;
        afterCreatedAt: number | null;
        afterId: string | null;
        limit: number;
      },
      RegistrationRow
    >(
      `SELECT * FROM registrations
       WHERE tenant_id = @tenantId
         AND (@integrationId IS NULL OR integration_id = @integrationId)
         AND (@connectionId IS NULL OR connection_id = @connectionId)
         AND (@status IS NULL OR status = @status)
         AND (@afterCreatedAt IS NULL OR created_at > @afterCreatedAt OR (created_at = @afterCreatedAt AND id > @afterId))
       ORDER BY created_at, id
       LIMIT @limit`,
    ),
    counts: db.prepare<{ tenantId: string | null }, { total: number; failed: number }>(
      `SELECT COUNT(*) AS total, COALESCE(SUM(status = 'failed'), 0) AS failed FROM registrations
       WHERE @tenantId IS NULL OR tenant_id = @tenantId`,
    ),
    insertCounters: db.prepare<Id>('INSERT INTO registration_counters (registration_id) VALUES (@id)'),
    countSuccess: db.prepare<{ id: string; at: number; count: number }>(
      `UPDATE registration_counters SET processed_event_count = processed_event_count + @count, failure_count = 0,
         last_event_at = @at
       WHERE registration_id = @id`,
    ),
    countFailure: db.prepare<{ id: string; at: number; count: number }>(
      `UPDATE registration_counters SET failure_count = failure_count + @count, last_failure_at = @at
       WHERE registration_id = @id`,
    ),
    countVerificationFailure: db.prepare<{ id: string; at: number; count: number }>(
      `UPDATE registration_counters SET verification_failure_count = verification_failure_count + @count,
         last_verification_failure_at = @at
       WHERE registration_id = @id`,
    ),
    getCounters: db.prepare<Id, CountersRow>('SELECT * FROM registration_counters WHERE registration_id = @id'),

    claim: db.prepare<{ registrationId: string; key: string; expiresAt: number; now: number }>(CLAIM_DEDUPE_KEY_SQL),
    readClaim: db.prepare<{ registrationId: string; key: string }, { state: string; expires_at: number }>(
      'SELECT state, expires_at FROM dedupe_claims WHERE registration_id = @registrationId AND key = @key',
    ),
    commitClaim: db.prepare<ClaimRow>(
      `INSERT INTO dedupe_claims (registration_id, key, expires_at, state)
       VALUES (@registrationId, @key, @expiresAt, 'committed')
       ON CONFLICT (registration_id, key) DO UPDATE SET expires_at = excluded.expires_at, state = 'committed'`,
    ),
    freshClaim: db.prepare<ClaimRow & { now: number }>(
      `INSERT INTO dedupe_claims (registration_id, key, expires_at, state)
       VALUES (@registrationId, @key, @expiresAt, 'committed')
       ON CONFLICT (registration_id, key) DO UPDATE SET expires_at = excluded.expires_at, state = 'committed'
       WHERE dedupe_claims.expires_at <= @now`,
    ),
    release: db.prepare<{ registrationId: string; key: string }>(
      'DELETE FROM dedupe_claims WHERE registration_id = @registrationId AND key = @key',
    ),
    pruneClaims: db.prepare<{ now: number; batch: number }>(
      `DELETE FROM dedupe_claims WHERE (registration_id, key) IN (
         SELECT registration_id, key FROM dedupe_claims WHERE expires_at <= @now LIMIT @batch)`,
    ),
    insertDelivery: db.prepare<DeliveryRowInput>(
      `INSERT OR REPLACE INTO deliveries (id, registration_id, tenant_id, received_at, outcome, headers, body, details)
       VALUES (@id, @registration_id, @tenant_id, @received_at, @outcome, @headers, @body, @details)`,
    ),
    trimRejected: db.prepare<{ registrationId: string; keep: number }>(
      `DELETE FROM deliveries WHERE registration_id = @registrationId AND outcome = 'rejected' AND seq <= (
         SELECT seq FROM deliveries WHERE registration_id = @registrationId AND outcome = 'rejected'
         ORDER BY seq DESC LIMIT 1 OFFSET @keep)`,
    ),
    trimDeliveries: db.prepare<{ keep: number }>(
      `DELETE FROM deliveries WHERE seq IN (
         SELECT seq FROM (
           SELECT seq, ROW_NUMBER() OVER (PARTITION BY registration_id ORDER BY seq DESC) AS n
           FROM deliveries WHERE outcome <> 'rejected')
         WHERE n > @keep)`,
    ),
    getDelivery: db.prepare<Id, DeliveryRow>('SELECT * FROM deliveries WHERE id = @id'),
    listDeliveries: db.prepare<{ registrationId: string; limit: number }, DeliveryRow>(
      `SELECT * FROM deliveries WHERE registration_id = @registrationId ORDER BY received_at DESC, seq DESC LIMIT @limit`,
    ),
    // Newest first along deliveries_by_registration; no body is read.
    recentOutcomes: db.prepare<
      { registrationId: string; outcomes: string; limit: number },
      { outcome: DeliveryOutcome }
    >(
      `SELECT outcome FROM deliveries
       WHERE registration_id = @registrationId AND outcome IN (SELECT value FROM json_each(@outcomes))
       ORDER BY received_at DESC, seq DESC LIMIT @limit`,
    ),

    upsertTask: db.prepare<TaskRowInput>(
      `INSERT INTO outbox (id, message_id, tenant_id, integration_id, kind, task, event, status, attempts, max_attempts,
         available_at, leased_until, created_at, last_error)
       VALUES (@id, @message_id, @tenant_id, @integration_id, @kind, @task, @event, @status, 0, @max_attempts,
         @available_at, @leased_until, @created_at, NULL)
       ON CONFLICT (id) DO UPDATE SET message_id = excluded.message_id, tenant_id = excluded.tenant_id,
         integration_id = excluded.integration_id, kind = excluded.kind, task = excluded.task, event = excluded.event,
         status = excluded.status, attempts = 0,
         max_attempts = excluded.max_attempts, available_at = excluded.available_at, leased_until = excluded.leased_until,
         created_at = excluded.created_at, last_error = NULL`,
    ),
    claimDue: db.prepare<{ now: number; leasedUntil: number; limit: number; kind: OutboxTaskKind }, TaskRow>(
      `UPDATE outbox SET status = 'leased', leased_until = @leasedUntil
       WHERE rowid IN (
         SELECT rowid FROM outbox
         WHERE kind = @kind AND ((status = 'pending' AND available_at <= @now)
            OR (status = 'leased' AND (leased_until IS NULL OR leased_until <= @now)))
         ORDER BY available_at, rowid
         LIMIT @limit)
       RETURNING ${TASK_COLUMNS}`,
    ),
    completeTask: db.prepare<Id>('DELETE FROM outbox WHERE id = @id'),
    retryTask: db.prepare<{ id: string; error: string; availableAt: number }, { status: OutboxStatus }>(
      `UPDATE outbox SET attempts = attempts + 1, last_error = @error, available_at = @availableAt, leased_until = NULL,
         status = CASE WHEN attempts + 1 >= max_attempts THEN 'dead' ELSE 'pending' END
       WHERE id = @id AND status IN ('pending', 'leased')
       RETURNING status`,
    ),
    taskStatus: db.prepare<Id, { status: OutboxStatus }>('SELECT status FROM outbox WHERE id = @id'),
    listOutbox: db.prepare<
      { tenantId: string | null; integrationId: string | null; status: string | null; kind: string; limit: number },
      TaskRow
    >(
      `SELECT ${TASK_COLUMNS} FROM outbox
       WHERE kind = @kind AND (@tenantId IS NULL OR tenant_id = @tenantId)
         AND (@integrationId IS NULL OR integration_id = @integrationId)
         AND (@status IS NULL OR status = @status)
       ORDER BY rowid
       LIMIT @limit`,
    ),
    outboxStats: db.prepare<[], { pending: number | null; dead: number | null; oldest: number | null }>(
      `SELECT SUM(status IN ('pending', 'leased')) AS pending, SUM(status = 'dead') AS dead,
         MIN(CASE WHEN status IN ('pending', 'leased') THEN created_at END) AS oldest
       FROM outbox`,
    ),

    insertApiKey: db.prepare<{
      id: string;
      tenantId: string;
      keyHash: string;
      name: string | null;
      createdAt: number;
      revokedAt: number | null;
    }>(
      `INSERT INTO api_keys (id, tenant_id, key_hash, name, created_at, revoked_at)
       VALUES (@id, @tenantId, @keyHash, @name, @createdAt, @revokedAt)`,
    ),
    findApiKey: db.prepare<{ keyHash: string }, ApiKeyRow>('SELECT * FROM api_keys WHERE key_hash = @keyHash'),
    listApiKeys: db.prepare<{ tenantId: string }, ApiKeyRow>(
      'SELECT * FROM api_keys WHERE tenant_id = @tenantId ORDER BY created_at, rowid',
    ),
    revokeApiKey: db.prepare<{ id: string; tenantId: string; at: number }>(
      'UPDATE api_keys SET revoked_at = COALESCE(revoked_at, @at) WHERE id = @id AND tenant_id = @tenantId',
    ),
  };
}

// ------------------------------------------------------------------ codecs

interface ClaimRow {
  registrationId: string;
  key: string;
  expiresAt: number;
}

function commitRows(registrationId: string, commit: DedupeCommit): ClaimRow[] {
  const expiresAt = time(commit.expiresAt);
  return commit.keys.map((key) => {
    if (typeof key !== 'string') throw new WebhookError('invalid_request', 'Dedupe keys are strings');
    return { registrationId, key, expiresAt };
  });
}

function deliveryRow(record: DeliveryRecord): DeliveryRowInput {
  const details: DeliveryDetails = {
    events: record.events,
    dedupeKeys: record.dedupeKeys,
    syncTriggered: record.syncTriggered,
  };
  if (record.bodyTruncated !== undefined) details.bodyTruncated = record.bodyTruncated;
  if (record.proofRedacted !== undefined) details.proofRedacted = record.proofRedacted;
  if (record.url !== undefined) details.url = record.url;
  if (record.method !== undefined) details.method = record.method;
  if (record.reason !== undefined) details.reason = record.reason;
  if (record.secretIndex !== undefined) details.secretIndex = record.secretIndex;
  if (record.diagnostics !== undefined) details.diagnostics = record.diagnostics;
  if (record.replayOf !== undefined) details.replayOf = record.replayOf;
  if (record.durationMs !== undefined) details.durationMs = record.durationMs;
  return {
    id: record.id,
    registration_id: record.registrationId,
    tenant_id: record.tenantId,
    received_at: time(record.receivedAt),
    outcome: record.outcome,
    headers: JSON.stringify(record.headers),
    body: Buffer.from(record.body),
    details: JSON.stringify(details),
  };
}

function decodeDelivery(row: DeliveryRow): DeliveryRecord {
  const details = JSON.parse(row.details) as DeliveryDetails;
  return {
    id: row.id,
    registrationId: row.registration_id,
    tenantId: row.tenant_id,
    receivedAt: new Date(row.received_at),
    headers: JSON.parse(row.headers) as Record<string, string>,
    // A plain Uint8Array over the Buffer's memory, as callers of the port expect.
    body: new Uint8Array(row.body.buffer, row.body.byteOffset, row.body.byteLength),
    outcome: row.outcome,
    ...details,
  };
}

function taskRow(task: NewOutboxTask, createdAt: Date) {
  return {
    id: task.id,
    message_id: task.messageId,
    tenant_id: task.task.tenantId,
    integration_id: task.task.integrationId,
    kind: task.kind ?? 'sync',
    task: JSON.stringify(task.task),
    event: task.kind === 'publish' && task.event ? encodePublishedEvent(task.event) : null,
    status: task.leasedUntil ? 'leased' : 'pending',
    max_attempts: task.maxAttempts,
    available_at: time(task.availableAt),
    leased_until: task.leasedUntil ? time(task.leasedUntil) : null,
    created_at: time(createdAt),
  };
}

function decodeTask(row: TaskRow): OutboxTask {
  const task: OutboxTask = {
    id: row.id,
    messageId: row.message_id,
    kind: row.kind,
    task: JSON.parse(row.task) as SyncTask,
    availableAt: new Date(row.available_at),
    maxAttempts: row.max_attempts,
    status: row.status,
    attempts: row.attempts,
    createdAt: new Date(row.created_at),
  };
  if (row.leased_until !== null) task.leasedUntil = new Date(row.leased_until);
  if (row.last_error !== null) task.lastError = row.last_error;
  if (row.event !== null) task.event = decodePublishedEvent(row.event);
  return task;
}

function decodeApiKey(row: ApiKeyRow): ApiKeyRecord {
  const record: ApiKeyRecord = {
    id: row.id,
    tenantId: row.tenant_id,
    keyHash: row.key_hash,
    createdAt: new Date(row.created_at),
  };
  if (row.name !== null) record.name = row.name;
  if (row.revoked_at !== null) record.revokedAt = new Date(row.revoked_at);
  return record;
}

/** Milliseconds since the epoch, refusing what is not a valid Date (NaN would be stored as NULL). */
function time(date: Date): number {
  const ms = date instanceof Date ? date.getTime() : Number.NaN;
  if (!Number.isFinite(ms)) throw new WebhookError('invalid_request', 'Expected a valid Date');
  return ms;
}

function newEtag(): string {
  return `"${randomBytes(12).toString('base64url')}"`;
}

function encodeToken(position: { createdAt: number; id: string }): string {
  return Buffer.from(JSON.stringify([position.createdAt, position.id]), 'utf8').toString('base64url');
}

function decodeToken(token: string): { createdAt: number; id: string } {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && Number.isFinite(parsed[0]) && isOurId(parsed[1])) {
      return { createdAt: parsed[0] as number, id: parsed[1] };
    }
  } catch {
    // Falls through to the error below.
  }
  throw new WebhookError('invalid_request', 'Invalid continuation token');
}

function isConstraintError(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
