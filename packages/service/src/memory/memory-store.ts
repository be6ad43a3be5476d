import {
  type ApiKeyRecord,
  type ApiKeyStore,
  type ClaimResult,
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
  type RegistrationCounters,
  type RegistrationStore,
  type UpdateOptions,
  WebhookError,
  type WebhookRegistration,
} from '@webhooks/core';

export interface MemoryStoreOptions {
  /** Rejected deliveries kept per registration (the newest). */
  keepRejected?: number;
  /** Deliveries of other outcomes kept per registration (the newest). */
  keepDeliveries?: number;
}

/** Ids of a registration's deliveries of one kind, oldest first from `head` on, with their place in the order of appends. */
interface IdQueue {
  ids: string[];
  seqs: number[];
  head: number;
}

/** A delivery whose body is held as `Body`. */
type Delivery<Body> = Omit<DeliveryRecord, 'body'> & { body: Body };

/** A delivery as the store keeps it: a small body as a string (see `keptBody`). */
type StoredDelivery = Delivery<Uint8Array | string>;

/**
 * Bodies up to this size are kept as latin1 strings: one byte per character, so the copy is exact,
 * immutable (nothing can change it, so it needs no copy of its own on the way out), and a plain
 * heap object, where an ArrayBuffer of its own would cost an allocation outside the heap and its
 * tracking, several times the price of copying a webhook-sized body. Larger bodies are copied into
 * bytes of their own, outside the JavaScript heap as before.
 */
const STRING_BODY_MAX_BYTES = 16 * 1024;

/** The store's own copy of a body (a Buffer's own slice would only be a view of the caller's bytes). */
function keptBody(body: Uint8Array): Uint8Array | string {
  if (body.byteLength > STRING_BODY_MAX_BYTES) return new Uint8Array(body);
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return bytes.toString('latin1');
}

/** A body to hand out: bytes of their own, whichever way the store keeps it. */
function bodyOf(kept: Uint8Array | string): Uint8Array {
  if (typeof kept !== 'string') return new Uint8Array(kept);
  const bytes = new Uint8Array(kept.length);
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).write(kept, 'latin1');
  return bytes;
}

/** A copy with `body` that shares nothing mutable with the original (cheaper than structuredClone). */
function copyDelivery<Body>(record: Delivery<unknown>, body: Body): Delivery<Body> {
  // A spread that only replaces properties the record has: every copy shares one hidden class.
  const copy: Delivery<Body> = {
    ...record,
    receivedAt: new Date(record.receivedAt.getTime()),
    headers: { ...record.headers },
    body,
    events: record.events.map((event) => ({ ...event })),
    dedupeKeys: [...record.dedupeKeys],
  };
  if (record.diagnostics)
    copy.diagnostics = { ...record.diagnostics, signatureHeaders: [...record.diagnostics.signatureHeaders] };
  return copy;
}

const storedDelivery = (record: DeliveryRecord): StoredDelivery => copyDelivery(record, keptBody(record.body));
const deliveryOf = (stored: StoredDelivery): DeliveryRecord => copyDelivery(stored, bodyOf(stored.body));

/**
 * A task with the given state, sharing nothing mutable with `task`. Built field by field rather
 * than as `{ ...task }` plus the fields a new task lacks: in optimised code V8 (Node 20) gives each
 * object made by a spread that then gains properties a hidden class of its own, which made every
 * outbox write several times slower than the copy itself and every site that reads tasks megamorphic.
 */
function taskWith(
  task: NewOutboxTask,
  kind: OutboxTaskKind,
  status: OutboxStatus,
  attempts: number,
  createdAt: Date,
): OutboxTask {
  const copy: OutboxTask = {
    id: task.id,
    messageId: task.messageId,
    kind,
    task: { ...task.task, metadata: { ...task.task.metadata } },
    availableAt: new Date(task.availableAt.getTime()),
    maxAttempts: task.maxAttempts,
    status,
    attempts,
    createdAt,
  };
  if (task.leasedUntil) copy.leasedUntil = new Date(task.leasedUntil.getTime());
  if (task.event) copy.event = decodePublishedEvent(encodePublishedEvent(task.event));
  return copy;
}

/** A stored task as handed out: a copy that shares nothing mutable with what the outbox keeps. */
function copyTask(task: OutboxTask): OutboxTask {
  const copy = taskWith(task, task.kind, task.status, task.attempts, new Date(task.createdAt.getTime()));
  if (task.lastError !== undefined) copy.lastError = task.lastError;
  return copy;
}

/**
 * What the outbox keeps of a new task: a copy, with its state. `createdAt` is the store's own Date
 * (the stored delivery's `receivedAt`): nothing outside the store ever gets hold of it.
 */
function storedTask(task: NewOutboxTask, createdAt: Date): OutboxTask {
  return taskWith(task, task.kind ?? 'sync', task.leasedUntil ? 'leased' : 'pending', 0, createdAt);
}

/**
 * A dedupe claim as one number, so that a week of claims costs no object each: its expiry time in
 * milliseconds, positive when COMMITTED, negative while PENDING (a lease until its append commits it).
 */
type Claim = number;
const expiryOf = (claim: Claim): number => Math.abs(claim);
const isCommitted = (claim: Claim): boolean => claim > 0;

const zeroCounters = (): RegistrationCounters => ({
  processedEventCount: 0,
  failureCount: 0,
  verificationFailureCount: 0,
});

/**
 * Registrations, deliveries, dedupe claims and the outbox in process memory: for tests and for
 * users who want zero dependencies and accept losing everything on restart.
 */
export class MemoryStore implements RegistrationStore, DeliveryStore, OutboxStore, ApiKeyStore {
  readonly #registrations = new Map<string, WebhookRegistration>();
  readonly #counters = new Map<string, RegistrationCounters>();
  /** Dedupe claims by registration, then key. */
  readonly #claims = new Map<string, Map<string, Claim>>();
  #claimCount = 0;
  readonly #deliveries = new Map<string, StoredDelivery>();
  /** Per registration: ids of rejected and of other deliveries, oldest first, from `head` on. */
  readonly #byRegistration = new Map<string, { rejected: IdQueue; other: IdQueue }>();
  readonly #outbox = new Map<string, OutboxTask>();
  readonly #apiKeys = new Map<string, ApiKeyRecord>();
  readonly #keepRejected: number;
  readonly #keepDeliveries: number;
  #version = 0;
  /** Appends so far: orders deliveries that arrived in the same millisecond. */
  #appends = 0;

  constructor(options: MemoryStoreOptions = {}) {
    this.#keepRejected = options.keepRejected ?? 100;
    this.#keepDeliveries = options.keepDeliveries ?? 10_000;
  }

  async get(id: string): Promise<WebhookRegistration | null> {
    const found = this.#registrations.get(id);
    return found ? structuredClone(found) : null;
  }

  async create(registration: WebhookRegistration): Promise<WebhookRegistration> {
    if (this.#registrations.has(registration.id)) throw new WebhookError('conflict', 'Registration already exists');
    const stored = { ...structuredClone(registration), etag: this.#nextEtag() };
    this.#registrations.set(stored.id, stored);
    this.#counters.set(stored.id, zeroCounters());
    return structuredClone(stored);
  }

  async update(registration: WebhookRegistration, options: UpdateOptions = {}): Promise<WebhookRegistration> {
    const current = this.#registrations.get(registration.id);
    if (!current) throw new WebhookError('not_found', 'Registration not found');
    if (options.ifMatch !== undefined && options.ifMatch !== current.etag) {
      throw new WebhookError('conflict', 'Registration was changed by someone else');
    }
    const stored = { ...structuredClone(registration), etag: this.#nextEtag() };
    this.#registrations.set(stored.id, stored);
    return structuredClone(stored);
  }

  async delete(id: string): Promise<void> {
    this.#registrations.delete(id);
    this.#counters.delete(id);
    this.#claimCount -= this.#claims.get(id)?.size ?? 0;
    this.#claims.delete(id);
    const index = this.#byRegistration.get(id);
    for (const deliveryId of [...(index?.rejected.ids ?? []), ...(index?.other.ids ?? [])])
      this.#deliveries.delete(deliveryId);
    this.#byRegistration.delete(id);
  }

  async listRegistrations(
    tenantId: string,
    options: ListRegistrationsOptions = {},
  ): Promise<Page<WebhookRegistration>> {
    const matching = [...this.#registrations.values()]
      .filter(
        (r) =>
          r.tenantId === tenantId &&
          (options.integrationId === undefined || r.integrationId === options.integrationId) &&
          (options.connectionId === undefined || r.connectionId === options.connectionId) &&
          (options.status === undefined || r.status === options.status),
      )
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id));
    const start = options.continuationToken ? Number.parseInt(options.continuationToken, 10) || 0 : 0;
    const limit = Math.max(1, Math.min(options.limit ?? 100, 1000));
    const page: Page<WebhookRegistration> = {
      items: matching.slice(start, start + limit).map((r) => structuredClone(r)),
    };
    if (start + limit < matching.length) page.continuationToken = String(start + limit);
    return page;
  }

  async counts(tenantId?: string): Promise<{ total: number; failed: number }> {
    let total = 0;
    let failed = 0;
    for (const r of this.#registrations.values()) {
      if (tenantId !== undefined && r.tenantId !== tenantId) continue;
      total++;
      if (r.status === 'failed') failed++;
    }
    return { total, failed };
  }

  async recordOutcome(id: string, outcome: CounterOutcome, at: Date, count = 1): Promise<void> {
    this.#count(id, outcome, at, count);
  }

  #count(id: string, outcome: CounterOutcome, at: Date, count = 1): void {
    const counters = this.#counters.get(id);
    if (!counters || !(count >= 1)) return;
    const n = Math.floor(count);
    if (outcome === 'success') {
      counters.processedEventCount += n;
      counters.failureCount = 0;
      counters.lastEventAt = at;
    } else if (outcome === 'failure') {
      counters.failureCount += n;
      counters.lastFailureAt = at;
    } else {
      counters.verificationFailureCount += n;
      counters.lastVerificationFailureAt = at;
    }
  }

  async getCounters(id: string): Promise<RegistrationCounters> {
    const counters = this.#counters.get(id);
    return counters ? { ...counters } : zeroCounters();
  }

  async claimDedupeKey(registrationId: string, key: string, leaseMs: number, now: Date): Promise<ClaimResult> {
    const existing = this.#claims.get(registrationId)?.get(key);
    if (existing !== undefined && expiryOf(existing) > now.getTime())
      return isCommitted(existing) ? 'duplicate' : 'in_progress';
    this.#setClaim(registrationId, key, -(now.getTime() + leaseMs), now.getTime());
    return 'claimed';
  }

  async releaseDedupeKey(registrationId: string, key: string): Promise<void> {
    const claims = this.#claims.get(registrationId);
    if (claims?.delete(key)) this.#claimCount--;
  }

  async appendFresh(record: DeliveryRecord, tasks: NewOutboxTask[], fresh: FreshAppend): Promise<FreshAppendResult> {
    // No await: the check and the writes below happen as one step.
    const now = fresh.now.getTime();
    const claims = this.#claims.get(record.registrationId);
    for (const key of fresh.commit.keys) {
      const existing = claims?.get(key);
      if (existing !== undefined && expiryOf(existing) > now) return { status: 'conflict', counted: false };
    }
    this.#write(record, tasks, fresh.commit);
    const counted = fresh.countSuccess === true && this.#counters.has(record.registrationId);
    if (counted) this.#count(record.registrationId, 'success', fresh.now);
    return { status: 'stored', counted };
  }

  async append(record: DeliveryRecord, tasks: NewOutboxTask[] = [], commit?: DedupeCommit): Promise<void> {
    this.#write(record, tasks, commit);
  }

  #write(record: DeliveryRecord, tasks: NewOutboxTask[], commit: DedupeCommit | undefined): void {
    // Synchronous: the delivery, its tasks and its committed claims change together.
    const stored = storedDelivery(record);
    this.#deliveries.set(record.id, stored);
    let index = this.#byRegistration.get(record.registrationId);
    if (!index) {
      index = { rejected: { ids: [], seqs: [], head: 0 }, other: { ids: [], seqs: [], head: 0 } };
      this.#byRegistration.set(record.registrationId, index);
    }
    const rejected = record.outcome === 'rejected';
    const queue = rejected ? index.rejected : index.other;
    queue.ids.push(record.id);
    queue.seqs.push(++this.#appends);
    const keep = rejected ? this.#keepRejected : this.#keepDeliveries;
    while (queue.ids.length - queue.head > keep) this.#deliveries.delete(queue.ids[queue.head++]!);
    // Compacted now and then: shifting one id per append would move the whole array every time.
    if (queue.head > 1024 && queue.head * 2 > queue.ids.length) {
      queue.ids.splice(0, queue.head);
      queue.seqs.splice(0, queue.head);
      queue.head = 0;
    }
    for (const task of tasks) this.#outbox.set(task.id, storedTask(task, stored.receivedAt));
    if (commit) {
      const expiresAt = commit.expiresAt.getTime();
      for (const key of commit.keys) this.#setClaim(record.registrationId, key, expiresAt, stored.receivedAt.getTime());
    }
  }

  async getDelivery(id: string): Promise<DeliveryRecord | null> {
    const found = this.#deliveries.get(id);
    return found ? deliveryOf(found) : null;
  }

  async listDeliveries(registrationId: string, limit: number): Promise<DeliveryRecord[]> {
    const newest: DeliveryRecord[] = [];
    for (const stored of this.#newestFirst(registrationId, true)) {
      if (newest.length >= limit) break;
      newest.push(deliveryOf(stored));
    }
    return newest;
  }

  async recentOutcomes(
    registrationId: string,
    outcomes: readonly DeliveryOutcome[],
    limit: number,
  ): Promise<DeliveryOutcome[]> {
    const wanted = new Set(outcomes);
    const found: DeliveryOutcome[] = [];
    // Nothing is copied; rejections are not even looked at unless asked for.
    for (const stored of this.#newestFirst(registrationId, wanted.has('rejected'))) {
      if (found.length >= limit) break;
      if (wanted.has(stored.outcome)) found.push(stored.outcome);
    }
    return found;
  }

  /** The registration's kept deliveries, newest first (by arrival, then by order of appends). */
  *#newestFirst(registrationId: string, withRejected: boolean): Generator<StoredDelivery> {
    const index = this.#byRegistration.get(registrationId);
    if (!index) return;
    const { rejected, other } = index;
    let r = withRejected ? rejected.ids.length - 1 : rejected.head - 1;
    let o = other.ids.length - 1;
    while (r >= rejected.head || o >= other.head) {
      const a = r >= rejected.head ? this.#deliveries.get(rejected.ids[r]!) : undefined;
      const b = o >= other.head ? this.#deliveries.get(other.ids[o]!) : undefined;
      const takeRejected =
        o < other.head ||
        (r >= rejected.head &&
          (a === undefined ||
            b === undefined ||
            a.receivedAt > b.receivedAt ||
            (a.receivedAt.getTime() === b.receivedAt.getTime() && rejected.seqs[r]! > other.seqs[o]!)));
      const record = takeRejected ? a : b;
      if (takeRejected) r--;
      else o--;
      if (record) yield record;
    }
  }

  async claimDue(now: Date, limit: number, leaseMs: number, kind: OutboxTaskKind = 'sync'): Promise<OutboxTask[]> {
    const due: OutboxTask[] = [];
    for (const task of this.#outbox.values()) {
      if (due.length >= limit) break;
      if (task.kind !== kind) continue;
      const ready =
        (task.status === 'pending' && task.availableAt <= now) ||
        (task.status === 'leased' && (task.leasedUntil?.getTime() ?? 0) <= now.getTime());
      if (!ready) continue;
      task.status = 'leased';
      task.leasedUntil = new Date(now.getTime() + leaseMs);
      due.push(copyTask(task));
    }
    return due;
  }

  async complete(id: string): Promise<void> {
    // Finished tasks are dropped, so memory holds only the work still to do.
    this.#outbox.delete(id);
  }

  async completeMany(ids: readonly string[]): Promise<void> {
    for (const id of ids) this.#outbox.delete(id);
  }

  async retry(id: string, error: string, availableAt: Date): Promise<OutboxStatus> {
    const task = this.#outbox.get(id);
    if (!task) return 'done';
    if (task.status === 'done' || task.status === 'dead') return task.status;
    task.attempts++;
    task.lastError = error;
    task.availableAt = new Date(availableAt.getTime());
    delete task.leasedUntil;
    task.status = task.attempts >= task.maxAttempts ? 'dead' : 'pending';
    return task.status;
  }

  async listOutbox(options: ListOutboxOptions = {}): Promise<OutboxTask[]> {
    const limit = options.limit ?? 100;
    const found: OutboxTask[] = [];
    for (const task of this.#outbox.values()) {
      if (found.length >= limit) break;
      if (task.kind !== (options.kind ?? 'sync')) continue;
      if (options.status !== undefined && task.status !== options.status) continue;
      if (options.tenantId !== undefined && task.task.tenantId !== options.tenantId) continue;
      if (options.integrationId !== undefined && task.task.integrationId !== options.integrationId) continue;
      found.push(copyTask(task));
    }
    return found;
  }

  async outboxStats(now: Date): Promise<{ pending: number; dead: number; oldestPendingAgeMs: number }> {
    let pending = 0;
    let dead = 0;
    let oldest = now.getTime();
    for (const task of this.#outbox.values()) {
      if (task.status === 'dead') dead++;
      else if (task.status !== 'done') {
        pending++;
        oldest = Math.min(oldest, task.createdAt.getTime());
      }
    }
    return { pending, dead, oldestPendingAgeMs: now.getTime() - oldest };
  }

  async createApiKey(record: ApiKeyRecord): Promise<void> {
    for (const existing of this.#apiKeys.values()) {
      if (existing.id === record.id || existing.keyHash === record.keyHash) {
        throw new WebhookError('conflict', 'API key already exists');
      }
    }
    this.#apiKeys.set(record.id, structuredClone(record));
  }

  async findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | null> {
    for (const record of this.#apiKeys.values()) if (record.keyHash === keyHash) return structuredClone(record);
    return null;
  }

  async listApiKeys(tenantId: string): Promise<ApiKeyRecord[]> {
    return [...this.#apiKeys.values()].filter((r) => r.tenantId === tenantId).map((r) => structuredClone(r));
  }

  async revokeApiKey(id: string, tenantId: string, at: Date): Promise<boolean> {
    const record = this.#apiKeys.get(id);
    if (!record || record.tenantId !== tenantId) return false;
    record.revokedAt ??= at;
    return true;
  }

  #nextClaimSweep = 100_000;

  /** Drops expired claims; runs when the map has doubled since the last sweep, so it stays amortised O(1). */
  #sweepClaims(now: number): void {
    for (const [registrationId, claims] of this.#claims) {
      for (const [key, claim] of claims) if (expiryOf(claim) <= now) claims.delete(key);
      if (claims.size === 0) this.#claims.delete(registrationId);
    }
    this.#claimCount = 0;
    for (const claims of this.#claims.values()) this.#claimCount += claims.size;
    this.#nextClaimSweep = Math.max(100_000, this.#claimCount * 2);
  }

  #setClaim(registrationId: string, key: string, claim: Claim, now: number): void {
    let claims = this.#claims.get(registrationId);
    if (!claims) {
      claims = new Map();
      this.#claims.set(registrationId, claims);
    }
    const size = claims.size;
    claims.set(key, claim);
    if (claims.size > size && ++this.#claimCount >= this.#nextClaimSweep) this.#sweepClaims(now);
  }

  #nextEtag(): string {
    this.#version++;
    return `"${this.#version}"`;
  }
}
