import type { WebhookEvent, WebhookRegistration } from './types.js';

/** Time, injectable so tests control expiry, tolerance and rotation grace. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Encrypts secrets at rest. Implementations use an authenticated cipher. */
export interface SecretBox {
  seal(plainText: string): string;
  open(sealed: string): string;
}

export interface Page<T> {
  items: T[];
  /** Present when more items follow; pass it back to get the next page. */
  continuationToken?: string;
}

export interface ListRegistrationsOptions {
  integrationId?: string;
  connectionId?: string;
  status?: WebhookRegistration['status'];
  limit?: number;
  continuationToken?: string;
}

export interface UpdateOptions {
  /** Fails with WebhookError('conflict') when the stored etag differs. */
  ifMatch?: string;
}

/** Counters kept apart from the registration document so they change atomically. */
export interface RegistrationCounters {
  processedEventCount: number;
  /** Consecutive downstream failures (reset by a success). */
  failureCount: number;
  /** Signature failures: counted apart so junk from strangers cannot fail a healthy webhook. */
  verificationFailureCount: number;
  lastEventAt?: Date;
  lastFailureAt?: Date;
  lastVerificationFailureAt?: Date;
}

export type CounterOutcome = 'success' | 'failure' | 'verification_failure';

export interface RegistrationStore {
  /** Null when missing, including for ids that are not well-formed. */
  get(id: string): Promise<WebhookRegistration | null>;
  /** Fails with WebhookError('conflict') when the id exists. */
  create(registration: WebhookRegistration): Promise<WebhookRegistration>;
  update(registration: WebhookRegistration, options?: UpdateOptions): Promise<WebhookRegistration>;
  /** Succeeds when already gone. */
  delete(id: string): Promise<void>;
  listRegistrations(tenantId: string, options?: ListRegistrationsOptions): Promise<Page<WebhookRegistration>>;
  counts(tenantId?: string): Promise<{ total: number; failed: number }>;
  /**
   * Atomic increment; never a read-modify-write of the registration document. `count` (default 1)
   * records that many outcomes at once, `at` being the latest of them.
   */
  recordOutcome(id: string, outcome: CounterOutcome, at: Date, count?: number): Promise<void>;
  getCounters(id: string): Promise<RegistrationCounters>;
}

export type DeliveryOutcome =
  /** Stored; its sync tasks (if any matched) were handed to the queue. */
  | 'accepted'
  /** Stored; the queue was unavailable, so the tasks wait in the outbox. */
  | 'queued'
  /** A repeat of a delivery already accepted: nothing triggered. */
  | 'duplicate'
  /** The signature did not verify. */
  | 'rejected'
  /** Verified but not understood. */
  | 'invalid_payload'
  /** Refused with 429 before verification. */
  | 'rate_limited'
  | 'handshake';

/** What a rejected delivery looked like, to answer "why does my signature fail?". Never a secret. */
export interface SignatureDiagnostics {
  /** Names of the signature-related headers that were present. */
  signatureHeaders: string[];
  bodyLength: number;
  contentType?: string;
  /** Seconds between the request's timestamp header and the receiver's clock, when it has one. */
  timestampSkewSeconds?: number;
}

export interface DeliveryRecord {
  id: string;
  registrationId: string;
  tenantId: string;
  receivedAt: Date;
  /** Request headers with credentials (authorization, cookies, tokens) removed. */
  headers: Record<string, string>;
  /**
   * The raw body as received (rejections keep at most the first 4 KB), except that any of the
   * registration's secrets in it (Microsoft Graph's clientState) is replaced by `[redacted]`.
   */
  body: Uint8Array;
  /** True when `body` holds only the start of what arrived. */
  bodyTruncated?: boolean;
  /**
   * True when a credential header was dropped or a secret cut out of the body, so the stored
   * request cannot prove itself again (a replay trusts the verification made on arrival).
   */
  proofRedacted?: boolean;
  url?: string;
  method?: string;
  outcome: DeliveryOutcome;
  /** A machine-readable reason for a failure, such as a verification reason code. */
  reason?: string;
  events: Array<Pick<WebhookEvent, 'eventType' | 'entityType' | 'entityId' | 'deliveryId'>>;
  /** The dedupe keys this delivery claimed. */
  dedupeKeys: string[];
  syncTriggered: boolean;
  /** Which of the registration's secrets verified it (0 = the newest). */
  secretIndex?: number;
  diagnostics?: SignatureDiagnostics;
  /** Set on a replay: the delivery whose stored bytes were run again. */
  replayOf?: string;
  durationMs?: number;
}

/**
 * What `claimDedupeKey` found:
 * - 'claimed': the caller now holds a PENDING claim on the key (no claim existed, or the one there
 *   had expired) and must either commit it in `append` or release it;
 * - 'duplicate': a COMMITTED, unexpired claim exists: a delivery with this key is durably stored;
 * - 'in_progress': a PENDING, unexpired claim exists: another request is storing it right now, or
 *   one crashed before it could (its lease has not run out yet). Nothing is stored for certain, so
 *   the provider must be told to retry, never that this is a duplicate.
 */
export type ClaimResult = 'claimed' | 'duplicate' | 'in_progress';

/** Claims `append` commits in the same transaction as the delivery (see `DeliveryStore.append`). */
export interface DedupeCommit {
  /** The dedupe keys (of the record's registration) to mark COMMITTED. */
  keys: string[];
  /** When the committed claims expire (the dedupe TTL, counted from when the delivery arrived). */
  expiresAt: Date;
}

/** What `DeliveryStore.appendFresh` commits with the delivery. */
export interface FreshAppend {
  /** The keys to create COMMITTED, and until when. */
  commit: DedupeCommit;
  /** Judges whether an existing claim has expired; also the time of the counted success. */
  now: Date;
  /** Count a success for `record.registrationId` in the same write, where the store keeps counters. */
  countSuccess?: boolean;
}

export interface FreshAppendResult {
  status: 'stored' | 'conflict';
  /** True when the success was counted by the same write. */
  counted: boolean;
}

/**
 * Deliveries and their dedupe claims. A claim on `(registrationId, key)` is two-phase, so that a
 * process that dies between claiming and storing cannot turn the provider's retry into a
 * "duplicate" of something never stored:
 * 1. `claimDedupeKey` takes a short PENDING lease (`now + leaseMs`);
 * 2. `append(record, tasks, { keys, expiresAt })` stores the delivery and its tasks and makes the
 *    claims COMMITTED until `expiresAt`, all in one transaction where the engine allows.
 * A pending claim whose lease runs out (its holder crashed) can be claimed again; only a committed
 * claim ever makes a repeat a duplicate.
 */
export interface DeliveryStore {
  /**
   * Atomic claim of (registrationId, key). Creates a PENDING claim expiring at `now + leaseMs` when
   * no claim exists or the existing one has expired ('claimed': exactly one of any number of
   * concurrent callers gets it); otherwise 'duplicate' for a COMMITTED unexpired claim and
   * 'in_progress' for a PENDING unexpired one. Expiry is judged by `now`.
   */
  claimDedupeKey(registrationId: string, key: string, leaseMs: number, now: Date): Promise<ClaimResult>;
  /**
   * Deletes the claim on (registrationId, key), pending or committed, so the provider's retry is
   * not a duplicate: for claims whose delivery could not be stored. Releasing an unknown key succeeds.
   */
  releaseDedupeKey(registrationId: string, key: string): Promise<void>;
  /**
   * Appends the delivery and its outbox tasks in one transaction where the engine allows.
   * With `commit`, the listed claims of `record.registrationId` become COMMITTED, expiring at
   * `commit.expiresAt`, in that same transaction (an upsert: a claim that is missing, say because
   * its lease ran out and it was pruned, is created committed). So either the delivery is durable
   * and its keys answer 'duplicate', or neither. Records that accept nothing (duplicates,
   * rejections) pass no commit.
   * Rejected deliveries are capped per registration (the newest `keepRejected`, default 100).
   */
  append(record: DeliveryRecord, tasks?: NewOutboxTask[], commit?: DedupeCommit): Promise<void>;
  /**
   * Optional: the receive path's one write. In ONE transaction, when none of `fresh.commit.keys` of
   * `record.registrationId` has an unexpired claim at `fresh.now` (pending or committed), creates
   * them COMMITTED until `fresh.commit.expiresAt`, stores the delivery and its tasks and, with
   * `fresh.countSuccess`, counts a success for the registration at `fresh.now` (as
   * `RegistrationStore.recordOutcome` would) where this store keeps the counters.
   * When any key has such a claim, nothing is written and the answer is 'conflict': the caller goes
   * the two-phase way (`claimDedupeKey`, then `append`), which tells a duplicate from a copy in
   * flight. A store may also answer 'conflict' for an expired claim it cannot take over in the same
   * write. `counted` says whether the success was counted here (false: the caller counts it).
   */
  appendFresh?(record: DeliveryRecord, tasks: NewOutboxTask[], fresh: FreshAppend): Promise<FreshAppendResult>;
  getDelivery(id: string): Promise<DeliveryRecord | null>;
  /** Newest first. */
  listDeliveries(registrationId: string, limit: number): Promise<DeliveryRecord[]>;
  /**
   * Optional: the outcomes of the registration's newest `limit` deliveries whose outcome is one of
   * `outcomes`, newest first, read without their bodies: what the health check's failure rate
   * needs. Without it the service reads `listDeliveries` and filters what it got, so deliveries of
   * other outcomes (a flood of rejected junk) take room in the window.
   */
  recentOutcomes?(
    registrationId: string,
    outcomes: readonly DeliveryOutcome[],
    limit: number,
  ): Promise<DeliveryOutcome[]>;
}

export interface CacheStats {
  hits: number;
  misses: number;
  hitRate: number;
}

export interface RegistrationCache {
  get(id: string): Promise<WebhookRegistration | null>;
  /**
   * Optional: the entry when this process already holds it, without a promise (counted as a hit);
   * undefined when `get` would have to look further. The receive path tries it first, so that a
   * hit in process memory costs no turn of the microtask queue.
   */
  getLocal?(id: string): WebhookRegistration | undefined;
  set(registration: WebhookRegistration): Promise<void>;
  /** Removes the entry here and, where the cache is shared, tells other instances. */
  invalidate(id: string): Promise<void>;
  stats(): CacheStats;
}

export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until a request would be allowed again (0 when allowed). */
  retryAfterSeconds: number;
}

export interface RateLimiter {
  consume(key: string, limit: number, windowMs: number): Promise<RateLimitDecision>;
  /**
   * Optional: `consume` for limiters that decide in process memory, answered without a promise.
   * The receive path uses it when it is there.
   */
  consumeSync?(key: string, limit: number, windowMs: number): RateLimitDecision;
}

/** The spec's sync task, plus what a worker needs to route it. */
export interface SyncTask {
  integrationId: string;
  connectionId: string;
  syncType: 'webhook_triggered';
  webhookEventId: string;
  metadata: { webhook: string; [key: string]: unknown };
  tenantId: string;
  eventType: string;
  entityType: string;
  entityId: string;
  deliveryId: string;
}

export interface EnqueueOptions {
  /** Derived from the dedupe key so the queue's duplicate detection also holds. */
  messageId: string;
}

/** One task of `SyncQueue.enqueueBatch`: the task and its stable message id. */
export interface EnqueueBatchItem extends EnqueueOptions {
  task: SyncTask;
}

export interface SyncQueue {
  enqueue(task: SyncTask, options: EnqueueOptions): Promise<void>;
  /**
   * Optional: sends many tasks in as few round trips as the queue allows. The dispatcher uses it,
   * when present, for each round of tasks it claims from the outbox.
   *
   * All-or-nothing from the caller's view: resolving means every item was accepted; a throw means
   * none is KNOWN to be sent (some may have been, say an earlier chunk of a split batch), so the
   * caller may send any of them again. That is safe only because the queue drops duplicates by
   * `messageId` (Service Bus duplicate detection, or an equivalent), which an implementation must
   * rely on or provide. An empty list resolves without sending anything.
   */
  enqueueBatch?(items: readonly EnqueueBatchItem[]): Promise<void>;
}

export type OutboxStatus = 'pending' | 'leased' | 'done' | 'dead';

/**
 * What an outbox task delivers: 'sync' sends `task` to the SyncQueue (or the embedded worker);
 * 'publish' sends `event` to the EventPublisher (Event Grid).
 */
export type OutboxTaskKind = 'sync' | 'publish';

export interface NewOutboxTask {
  id: string;
  /** Derived from the dedupe key so every queue's duplicate detection holds. */
  messageId: string;
  /** Absent means 'sync'. */
  kind?: OutboxTaskKind;
  /**
   * The sync task; for a 'publish' task, the same description of the event (tenant, integration,
   * entity), kept for listing and routing only: nothing of it is sent to the queue.
   */
  task: SyncTask;
  /** The event to publish: present on, and only on, a 'publish' task. */
  event?: PublishedEvent;
  /** Not dispatched before this time (rate-limited GitHub deliveries are released later). */
  availableAt: Date;
  /** The receive path dispatches the task itself first; the dispatcher waits until this lease ends. */
  leasedUntil?: Date;
  maxAttempts: number;
}

export interface OutboxTask extends NewOutboxTask {
  kind: OutboxTaskKind;
  status: OutboxStatus;
  attempts: number;
  createdAt: Date;
  lastError?: string;
}

export interface ListOutboxOptions {
  tenantId?: string;
  integrationId?: string;
  status?: OutboxStatus;
  /** Which kind of task to list (default 'sync'). */
  kind?: OutboxTaskKind;
  limit?: number;
}

/** The durable outbox: sync tasks written with their delivery, dispatched until done or dead. */
export interface OutboxStore {
  /**
   * Leases up to `limit` tasks of `kind` (default 'sync') that are due (pending, or leased with an
   * expired lease).
   */
  claimDue(now: Date, limit: number, leaseMs: number, kind?: OutboxTaskKind): Promise<OutboxTask[]>;
  complete(id: string): Promise<void>;
  /** Optional: completes many tasks in one write (unknown or finished ids are ignored). */
  completeMany?(ids: readonly string[]): Promise<void>;
  /** Counts a failed attempt; the task is due again at `availableAt`, or dead after its last attempt. */
  retry(id: string, error: string, availableAt: Date): Promise<OutboxStatus>;
  listOutbox(options?: ListOutboxOptions): Promise<OutboxTask[]>;
  /** Every kind of task counts. */
  outboxStats(now: Date): Promise<{ pending: number; dead: number; oldestPendingAgeMs: number }>;
}

export interface PublishedEvent {
  id: string;
  eventType: 'webhook.received';
  subject: string;
  eventTime: Date;
  data: {
    webhook: Omit<WebhookRegistration, 'webhookSecret' | 'previousSecrets'>;
    event: WebhookEvent;
    syncTriggered: boolean;
  };
}

export interface EventPublisher {
  publish(events: PublishedEvent[]): Promise<void>;
}

/** Credentials for a connection, supplied by the host (a vault, a database, configuration). */
export interface ConnectionCredentials {
  get(tenantId: string, connectionId: string): Promise<Record<string, string> | null>;
}

export interface ManualSetup {
  kind: 'manual';
  /** Steps for the operator: where to paste the URL and secret, which events to tick. */
  instructions: string[];
}

export interface ProviderRegistration {
  kind: 'registered';
  providerWebhookId: string;
}

export interface RegisterAtProviderInput {
  registration: WebhookRegistration;
  credentials: Record<string, string> | null;
}

/** Creates and deletes the webhook at the provider, or explains how to do it by hand. */
export interface ProviderRegistrar {
  register(input: RegisterAtProviderInput): Promise<ProviderRegistration | ManualSetup>;
  unregister(input: RegisterAtProviderInput): Promise<void>;
  /**
   * Optional: installs the registration's `webhookSecret`, just rotated, in the hook it created at
   * the provider (`providerWebhookId`). Throws when the provider did not take it: the operator then
   * has until the previous secret's grace period ends to install it by hand.
   */
  updateSecret?(input: RegisterAtProviderInput): Promise<void>;
}

export interface ApiKeyRecord {
  id: string;
  tenantId: string;
  /** SHA-256 (hex) of the key; the key itself is shown once, at creation, and never stored. */
  keyHash: string;
  name?: string;
  createdAt: Date;
  revokedAt?: Date;
}

/** Bearer API keys mapped to tenants, stored hashed. */
export interface ApiKeyStore {
  /** Fails with WebhookError('conflict') when the id or hash exists. */
  createApiKey(record: ApiKeyRecord): Promise<void>;
  /** The key with this hash, revoked or not (the caller checks `revokedAt`). */
  findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | null>;
  listApiKeys(tenantId: string): Promise<ApiKeyRecord[]>;
  /** Succeeds when already revoked; false when no such key belongs to the tenant. */
  revokeApiKey(id: string, tenantId: string, at: Date): Promise<boolean>;
}
