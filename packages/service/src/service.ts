import { hash, randomFillSync } from 'node:crypto';
import {
  type Clock,
  type ConnectionCredentials,
  classifyHealth,
  type DedupeCommit,
  type DeliveryOutcome,
  type DeliveryRecord,
  type DeliveryStore,
  type EventPublisher,
  failureRatePercent,
  type HeaderMap,
  isValidEventPattern,
  isWebhookError,
  type ManualSetup,
  type NewOutboxTask,
  type OutboxStore,
  type ProviderRegistrar,
  type RateLimitDecision,
  type RateLimiter,
  type RegistrationCache,
  type RegistrationProviderOptions,
  type RegistrationStore,
  type RetryPolicy,
  type ServiceHealth,
  type SyncQueue,
  type SyncTask,
  shouldTriggerSync,
  systemClock,
  type VerifyOptions,
  WebhookError,
  type WebhookEvent,
  type WebhookHealth,
  type WebhookProcessResult,
  type WebhookProvider,
  type WebhookRegistration,
  type WebhookRequest,
} from '@webhooks/core';
import { Coalescer } from './coalescer.js';
import { Deadline } from './deadline.js';
import { diagnoseSignature, storableBody, storableHeaders } from './diagnostics.js';
import { completeTasks } from './dispatcher.js';
import { LruRegistrationCache } from './memory/lru-cache.js';
import { MemoryRateLimiter } from './memory/rate-limiter.js';
import { ProviderRegistry } from './providers.js';
import { manualInstructions, manualRegistrar } from './registrars.js';
import { generateWebhookSecret } from './secret-box.js';

/** The subset of pino's interface the service logs through. */
export interface ServiceLogger {
  debug(object: object, message?: string): void;
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
}

const silentLogger: ServiceLogger = { debug() {}, info() {}, warn() {}, error() {} };

export interface RateLimitSettings {
  /** Verified deliveries per registration per minute (the spec's 100). */
  perMinute: number;
  /** Requests of any kind per registration per minute, checked before verification costs anything. */
  floodPerMinute: number;
}

export interface WebhookManagementServiceOptions {
  registrations: RegistrationStore;
  deliveries: DeliveryStore;
  outbox: OutboxStore;
  /**
   * Where sync tasks go. Without one, the outbox itself is the queue (the embedded queue): tasks
   * stay there for an in-process worker (`createEmbeddedWorker`) to claim.
   */
  queue?: SyncQueue;
  /** Webhook URLs are `${publicBaseUrl}/webhooks/${id}`. */
  publicBaseUrl: string;
  cache?: RegistrationCache;
  rateLimiter?: RateLimiter;
  publisher?: EventPublisher;
  providers?: ProviderRegistry;
  /** Registrars by provider id; providers without one get manual setup instructions. */
  registrars?: Record<string, ProviderRegistrar>;
  credentials?: ConnectionCredentials;
  clock?: Clock;
  logger?: ServiceLogger;
  rateLimit?: Partial<RateLimitSettings>;
  /** How long a delivery's dedupe key is kept (at least 7 days: Stripe retries for 3). */
  dedupeTtlMs?: number;
  /**
   * How long a dedupe claim stays pending while its delivery is being stored (default 60 s). The
   * append that stores the delivery commits the claim for `dedupeTtlMs`; a process that dies
   * before that leaves it pending, and the provider's retries are answered 503 `in_progress`
   * until it runs out, then accepted. Keep it well above the slowest store write: a claim that
   * runs out while its own append is still under way can let a concurrent copy be accepted too.
   */
  claimLeaseMs?: number;
  /** How long a rotated-out secret keeps verifying. */
  rotationGraceMs?: number;
  /** A registration that used to receive events and has had none for this long is reported silent. */
  silentAfterMs?: number;
  /** The failure rate is computed over this many most recent deliveries. */
  healthWindow?: number;
  /** Used when a registration has no retry policy of its own. */
  defaultRetryPolicy?: RetryPolicy;
  /** Emits a debug log with signature diagnostics for every rejection (WEBHOOK_DEBUG). */
  debugSignatures?: boolean;
  /**
   * How long the receive path waits for the queue to take its tasks (default 3 s) before answering
   * 202 `queued` and leaving them to the dispatcher; at most half of the provider's
   * `answerWithinMs` (Slack gives 3 s in all, so its sends get 1.5 s).
   */
  inlineSendTimeoutMs?: number;
  /**
   * Rejected deliveries (bad signatures) stored per registration per minute, with their
   * diagnostics (default 60); every rejection is counted. A flood of junk costs no writes beyond it.
   */
  rejectionsKeptPerMinute?: number;
}

export interface ProcessWebhookOptions {
  /** The public URL the provider called (Twilio, HubSpot and Google's audience depend on it). */
  url?: string;
  method?: string;
}

/** What processWebhookEvent returns: the spec's result, plus how to answer. */
export interface ProcessOutcome extends WebhookProcessResult {
  /** The HTTP status to answer with. */
  status: number;
  /**
   * A stable code for failures (`not_found`, `invalid_signature`, `rate_limited`, `in_progress`,
   * `store_unavailable`, ...). `in_progress` (503) means another request holds a pending claim on
   * one of the delivery's events: a concurrent copy being stored, or an attempt that crashed
   * before storing it and whose lease has not run out. Nothing is stored for certain, so the
   * provider is asked to retry (`retryAfterSeconds`) rather than told it is a duplicate.
   */
  code?: string;
  /** The verification reason, or another machine-readable detail. */
  reason?: string;
  /**
   * True (with 200) when every event of the delivery is already durably stored (its dedupe claim
   * was committed by the append that stored it): nothing is triggered again. False on acceptance.
   */
  duplicate?: boolean;
  /** The sync tasks are safe in the outbox and will be dispatched when the queue can take them. */
  queued?: boolean;
  /** How many events the delivery held (HubSpot and Graph batch them). */
  events?: number;
  /** Our id for the stored delivery. */
  deliveryId?: string;
  /**
   * Which of the registration's active secrets verified the delivery: 0 the current one, 1 and on
   * the previous ones still in their grace period after a rotation (also stored on the delivery).
   */
  secretIndex?: number;
  /** Seconds to send as Retry-After (429 `rate_limited`, 503 `in_progress`). */
  retryAfterSeconds?: number;
  rateLimit?: RateLimitDecision;
  /** Answer with this body instead of JSON (handshakes, Salesforce's SOAP Ack). */
  response?: { contentType: string; body: string };
}

export interface RegisterWebhookOptions {
  metadata?: Record<string, unknown>;
  retryPolicy?: RetryPolicy;
  /** A secret the provider issued (Slack signing secret, Stripe whsec_, ...); generated otherwise. */
  webhookSecret?: string;
  providerOptions?: RegistrationProviderOptions;
}

export interface RegisterWebhookResult {
  registration: WebhookRegistration;
  /** Present when the webhook must be set up at the provider by hand. */
  setup?: ManualSetup;
}

export interface RotateSecretOptions {
  /** A provider-issued secret to install instead of a generated one. */
  webhookSecret?: string;
  /** How long the previous secret keeps verifying; the service default otherwise. */
  graceMs?: number;
}

export interface RotateSecretResult {
  webhookSecret: string;
  previousSecretExpiresAt: Date;
  /**
   * For a hook the provider's registrar created (GitHub): whether the new secret was installed
   * there too. False means it must be installed by hand before `previousSecretExpiresAt`.
   */
  providerUpdated?: boolean;
}

const DAY_MS = 24 * 3600_000;
/** processWebhookEvent's options when none are given (read only, never kept). */
const NO_OPTIONS: ProcessWebhookOptions = Object.freeze({});
const REGISTRATION_ID = /^[A-Za-z0-9_-]{1,100}$/;
const REJECTED_BODY_BYTES = 4096;
/** Outcomes that count toward a registration's failure rate. */
const HEALTH_OUTCOMES: readonly DeliveryOutcome[] = ['accepted', 'queued', 'invalid_payload'];
/** Outcomes of deliveries that reached signature verification, and how many rejected in a row are a streak. */
const VERIFIED_OR_REJECTED: readonly DeliveryOutcome[] = [...HEALTH_OUTCOMES, 'duplicate', 'rejected'];
const SIGNATURE_FAILURE_STREAK = 5;
const MAX_PREVIOUS_SECRETS = 5;
const INLINE_LEASE_MS = 30_000;
const DEFAULT_CLAIM_LEASE_MS = 60_000;
const IN_PROGRESS_RETRY_AFTER_SECONDS = 5;
/** How often counts the receive path could not write with the delivery are written (see #countLater). */
const COUNT_FLUSH_MS = 200;

export class WebhookManagementService {
  readonly #registrations: RegistrationStore;
  readonly #deliveries: DeliveryStore;
  readonly #outbox: OutboxStore;
  readonly #queue: SyncQueue | undefined;
  readonly #cache: RegistrationCache;
  readonly #rateLimiter: RateLimiter;
  readonly #publisher: EventPublisher | undefined;
  readonly #providers: ProviderRegistry;
  readonly #registrars: Record<string, ProviderRegistrar>;
  readonly #credentials: ConnectionCredentials | undefined;
  readonly #clock: Clock;
  readonly #log: ServiceLogger;
  readonly #publicBaseUrl: string;
  readonly #limits: RateLimitSettings;
  readonly #dedupeTtlMs: number;
  readonly #claimLeaseMs: number;
  readonly #rotationGraceMs: number;
  readonly #silentAfterMs: number;
  readonly #healthWindow: number;
  readonly #defaultRetryPolicy: RetryPolicy;
  readonly #debugSignatures: boolean;
  readonly #inlineSendTimeoutMs: number;
  readonly #rejectionsKeptPerMinute: number;
  /** Next release time per registration for held (rate-limited, non-retrying) deliveries. */
  readonly #releaseSlots = new Map<string, number>();
  /** Whether the last counter write failed (see #writeCounts). */
  #countsFailing = false;
  /** Counts arrived since the last write began (what schedules the next one). */
  #countsArrived = false;
  /** Bumped by every cache invalidation made here (see #lookup). */
  #invalidations = 0;
  /** Outbox ids of tasks sent inline, completed together by #completeLater. */
  #completions: string[] = [];
  readonly #completionRuns = new Coalescer(
    () => this.#writeCompletions(),
    () => this.#completions.length > 0,
  );
  /** Successes not yet counted, by registration (see #countLater). */
  readonly #pendingCounts = new Map<
    string,
    { registrationId: string; outcome: 'success' | 'verification_failure'; count: number; at: Date }
  >();
  /** Rejected deliveries stored in the current minute, by registration (see #keepRejection). */
  readonly #keptRejections = new Map<string, { minute: number; kept: number }>();
  readonly #countRuns = new Coalescer(
    () => this.#writeCounts(),
    () => this.#countsArrived,
    COUNT_FLUSH_MS,
  );
  /** Inline publishes still under way (see #publishInBackground). */
  readonly #publishing = new Set<Promise<void>>();
  /** Inline send deadlines by budget: the configured one, and shorter ones for providers in a hurry. */
  readonly #sendDeadlines = new Map<number, Deadline>();
  /** Rate-limit keys by registration (see #limitKeys). */
  readonly #limitKeyCache = new Map<string, LimitKeys>();

  constructor(options: WebhookManagementServiceOptions) {
    this.#registrations = options.registrations;
    this.#deliveries = options.deliveries;
    this.#outbox = options.outbox;
    this.#queue = options.queue;
    this.#clock = options.clock ?? systemClock;
    this.#cache = options.cache ?? new LruRegistrationCache();
    this.#rateLimiter = options.rateLimiter ?? new MemoryRateLimiter(this.#clock);
    this.#publisher = options.publisher;
    this.#providers = options.providers ?? new ProviderRegistry();
    this.#registrars = options.registrars ?? {};
    this.#credentials = options.credentials;
    this.#log = options.logger ?? silentLogger;
    this.#publicBaseUrl = options.publicBaseUrl.replace(/\/+$/, '');
    this.#limits = { perMinute: 100, floodPerMinute: 1000, ...options.rateLimit };
    this.#dedupeTtlMs = Math.max(options.dedupeTtlMs ?? 7 * DAY_MS, 7 * DAY_MS);
    this.#claimLeaseMs = options.claimLeaseMs ?? DEFAULT_CLAIM_LEASE_MS;
    if (!Number.isFinite(this.#claimLeaseMs) || this.#claimLeaseMs <= 0) {
      throw new TypeError('claimLeaseMs must be a positive number of milliseconds');
    }
    this.#rotationGraceMs = options.rotationGraceMs ?? DAY_MS;
    this.#silentAfterMs = options.silentAfterMs ?? 3 * DAY_MS;
    this.#healthWindow = options.healthWindow ?? 100;
    this.#defaultRetryPolicy = options.defaultRetryPolicy ?? { maxRetries: 5, backoffSeconds: 30 };
    this.#debugSignatures = options.debugSignatures ?? false;
    this.#rejectionsKeptPerMinute = Math.max(0, Math.floor(options.rejectionsKeptPerMinute ?? 60));
    this.#inlineSendTimeoutMs = options.inlineSendTimeoutMs ?? 3000;
    if (!Number.isFinite(this.#inlineSendTimeoutMs) || this.#inlineSendTimeoutMs <= 0) {
      throw new TypeError('inlineSendTimeoutMs must be a positive number of milliseconds');
    }
  }

  get providers(): ProviderRegistry {
    return this.#providers;
  }

  /**
   * The receive path. Reads top to bottom as DESIGN.md's twelve steps; never throws: every
   * outcome, including a store that is down, is an answer with an HTTP status.
   */
  async processWebhookEvent(
    registrationId: string,
    headers: HeaderMap,
    rawBody: string | Uint8Array,
    options: ProcessWebhookOptions = NO_OPTIONS,
  ): Promise<ProcessOutcome> {
    const started = performance.now();
    const receivedAt = new Date(this.#clock.now());
    if (!isRequestShape(headers, rawBody)) {
      return failure(started, 400, 'invalid_request', 'Headers must be an object and the body a string or bytes');
    }
    const request = toRequest(headers, rawBody, options);
    try {
      // 1. Look up the registration: cache (without a promise when this process holds it), then
      // store. Unknown ids learn nothing else.
      const registration = this.#cache.getLocal?.(registrationId) ?? (await this.#lookup(registrationId));
      if (!registration || registration.status === 'inactive') {
        return failure(started, 404, 'not_found', 'Webhook registration not found');
      }
      const provider = this.#providers.get(registration.integrationId);
      if (!provider) return failure(started, 503, 'unsupported_provider', 'Provider is not loaded on this receiver');

      // 2. Rate limits: a flood guard on every request, before verification costs anything; the
      // per-registration limit follows verification (4b), so that junk never spends it.
      const limitKeys = this.#limitKeys(registration.id);
      const { floodPerMinute, perMinute } = this.#limits;
      const flood =
        this.#limitNow(limitKeys.flood, floodPerMinute) ?? (await this.#limit(limitKeys.flood, floodPerMinute));
      if (!flood.allowed) return rateLimited(started, flood);

      // 3. Handshakes, for their exact shapes only (signed ones are verified inside).
      const verifyOptions = this.#verifyOptions(registration, receivedAt.getTime());
      const handshake = provider.handshake && (await provider.handshake(request, verifyOptions));
      if (handshake) {
        await this.#afterHandshake(registration, handshake.capturedSecret);
        const { capturedSecret: _, ...response } = handshake;
        return { success: true, status: response.status, processingTimeMs: elapsed(started), response };
      }

      // 4. Verify the raw bytes with every active secret.
      const verified = await provider.verify(request, verifyOptions);
      if (!verified.ok) {
        await this.#recordRejection(registration, request, receivedAt, verified.reason, started);
        return Object.assign(failure(started, 401, 'invalid_signature', 'Invalid webhook signature'), {
          reason: verified.reason,
        });
      }

      // 4b. The per-registration limit, on verified deliveries: 429 for providers that retry. GitHub
      // never retries: its deliveries over the limit are stored and their sync tasks released later
      // at the limited rate instead of being refused.
      let availableAt = receivedAt;
      const rateLimit = this.#limitNow(limitKeys.rate, perMinute) ?? (await this.#limit(limitKeys.rate, perMinute));
      if (!rateLimit.allowed) {
        if (provider.retriesDeliveries) return rateLimited(started, rateLimit);
        availableAt = this.#nextReleaseSlot(registration.id, receivedAt);
      }

      // 5. Parse into normalised events.
      let events: WebhookEvent[];
      try {
        const parsed = provider.parse(request, { now: receivedAt.getTime() });
        events = Array.isArray(parsed) ? parsed : [parsed];
      } catch (error) {
        const reason = isWebhookError(error) ? error.code : 'invalid_payload';
        await this.#storeDelivery(registration, request, receivedAt, 'invalid_payload', started, {
          reason,
          secretIndex: verified.secretIndex,
        });
        await this.#recordOutcome(registration, 'failure', receivedAt);
        return Object.assign(failure(started, 400, 'invalid_payload', 'Webhook payload could not be parsed'), {
          reason,
        });
      }

      // 6. Dedupe each event on the provider's delivery id, or a hash of the signed bytes; an event
      // repeated inside one delivery counts once.
      const candidates = withDedupeKeys(events, request.body as Uint8Array);

      // 7-8. Match the events against the registration's patterns, then persist the delivery with
      // its tasks and commit its dedupe claims, before any 2xx. One write in the usual case (no
      // claim on its keys yet); otherwise claim by claim, so that a copy in flight, or an attempt
      // that crashed before storing it, is answered "retry", never "duplicate".
      const deliveryId = newId('dlv');
      const held = availableAt > receivedAt;
      const persisted = await this.#persist({
        registration,
        request,
        receivedAt,
        started,
        deliveryId,
        candidates,
        availableAt,
        held,
        secretIndex: verified.secretIndex,
        secrets: verifyOptions.secrets,
      });
      const ack = provider.acknowledgement;
      if (persisted.status === 'in_progress') return inProgress(started);
      if (persisted.status === 'duplicate') {
        const outcome = success(started, 200, events, false);
        outcome.duplicate = true;
        outcome.queued = false;
        if (verified.secretIndex !== undefined) outcome.secretIndex = verified.secretIndex;
        if (ack) outcome.response = { ...ack };
        return outcome;
      }
      const { tasks, publications } = persisted;

      // 9. Enqueue; a queue that is down leaves the tasks in the outbox for the dispatcher.
      // With the embedded queue, a task in the outbox is a task enqueued.
      const queued = held
        ? tasks.length > 0
        : !(await this.#dispatchInline(registration, tasks, receivedAt, this.#sendDeadline(provider)));

      // 10. Health counters (already counted by the write, where the store could), then the first
      // verified event finishes a pending setup.
      if (!persisted.counted || registration.status === 'failed') {
        await this.#recordOutcome(registration, 'success', receivedAt, persisted.counted);
      }
      if (!registration.isVerified || registration.status !== 'active') await this.#markVerified(registration);

      // 11. Tell Event Grid (never with the secret), without holding the answer: the events are
      // safe in the outbox, and one that fails to publish waits there for the publish dispatcher.
      if (publications.length > 0) this.#publishInBackground(registration, publications, receivedAt);

      // 12. Answer. (Fields are added to the object rather than spread into a new one: see taskWith
      // in memory-store.ts for why that matters on a hot path.)
      const outcome = success(started, queued ? 202 : 200, events, tasks.length > 0 && !queued);
      outcome.deliveryId = deliveryId;
      outcome.duplicate = false;
      outcome.queued = queued;
      if (verified.secretIndex !== undefined) outcome.secretIndex = verified.secretIndex;
      outcome.rateLimit = rateLimit;
      if (ack) outcome.response = { ...ack };
      return outcome;
    } catch (error) {
      // The store (or the cache/limiter in front of it) failed: acknowledge nothing, so the
      // provider retries (#persist has freed its dedupe claims, so the retry need not wait them out).
      if (isWebhookError(error) && error.status < 500) return failure(started, error.status, error.code, error.message);
      this.#log.error(
        { err: describeError(error), registrationId: safeId(registrationId) },
        'webhook not accepted: store unavailable',
      );
      return failure(started, 503, 'store_unavailable', 'Temporarily unable to accept webhooks; retry later');
    }
  }

  // ---------------------------------------------------------------- management

  async registerWebhook(
    tenantId: string,
    integrationId: string,
    connectionId: string,
    events: string[],
    options: RegisterWebhookOptions = {},
  ): Promise<RegisterWebhookResult> {
    validateTenant(tenantId);
    if (!this.#providers.get(integrationId)) {
      throw new WebhookError(
        'unsupported_provider',
        `Unknown integrationId; supported: ${this.#providers.ids().join(', ')}`,
      );
    }
    if (typeof connectionId !== 'string' || connectionId.length === 0 || connectionId.length > 200) {
      throw new WebhookError('invalid_request', 'connectionId must be a string of 1 to 200 characters');
    }
    validateEvents(events);
    if (options.retryPolicy !== undefined) validateRetryPolicy(options.retryPolicy);
    if (options.webhookSecret !== undefined) validateSecret(options.webhookSecret);

    const id = newId('wh');
    const now = new Date(this.#clock.now());
    const registration: WebhookRegistration = {
      id,
      tenantId,
      integrationId,
      connectionId,
      webhookUrl: `${this.#publicBaseUrl}/webhooks/${id}`,
      webhookSecret: options.webhookSecret ?? generateWebhookSecret(),
      events: [...events],
      status: 'pending_verification',
      isVerified: false,
      failureCount: 0,
      createdAt: now,
      updatedAt: now,
    };
    if (options.metadata !== undefined) {
      // The keys the service keeps in metadata are its own to set.
      const { verificationTokenCaptured: _captured, secretSupplied: _supplied, ...metadata } = options.metadata;
      registration.metadata = structuredClone(metadata);
    }
    // A secret the operator supplied is never replaced by a token a handshake hands over.
    if (options.webhookSecret !== undefined) registration.metadata = { ...registration.metadata, secretSupplied: true };
    if (options.retryPolicy !== undefined) registration.retryPolicy = { ...options.retryPolicy };
    if (options.providerOptions !== undefined) registration.providerOptions = structuredClone(options.providerOptions);

    let setup: ManualSetup | undefined;
    const registrar = this.#registrars[integrationId] ?? manualRegistrar;
    try {
      const credentials = (await this.#credentials?.get(tenantId, connectionId)) ?? null;
      const result = await registrar.register({ registration, credentials });
      if (result.kind === 'registered') {
        registration.providerWebhookId = result.providerWebhookId;
        registration.status = 'active';
      } else {
        setup = result;
      }
    } catch (error) {
      // Registration never fails because the provider's API is unreachable from here.
      this.#log.warn({ err: describeError(error), integrationId }, 'provider registration failed; manual setup');
      setup = { kind: 'manual', instructions: manualInstructions(registration, options.webhookSecret !== undefined) };
    }
    if (setup && options.webhookSecret !== undefined) {
      setup = { kind: 'manual', instructions: manualInstructions(registration, true) };
    }

    const stored = await this.#registrations.create(registration);
    await this.#cache.set(stored);
    this.#log.info({ registrationId: id, tenantId, integrationId }, 'webhook registered');
    return setup ? { registration: stored, setup } : { registration: stored };
  }

  async unregisterWebhook(registrationId: string, tenantId: string): Promise<void> {
    const registration = await this.#owned(registrationId, tenantId);
    const registrar = this.#registrars[registration.integrationId] ?? manualRegistrar;
    try {
      const credentials = (await this.#credentials?.get(tenantId, registration.connectionId)) ?? null;
      await registrar.unregister({ registration, credentials });
    } catch (error) {
      // The local registration goes regardless: a provider hook left behind only earns 404s.
      this.#log.warn({ err: describeError(error), registrationId }, 'provider unregistration failed');
    }
    await this.#registrations.delete(registration.id);
    await this.#invalidate(registration.id);
    this.#log.info({ registrationId, tenantId }, 'webhook unregistered');
  }

  async rotateWebhookSecret(
    registrationId: string,
    tenantId: string,
    options: RotateSecretOptions = {},
  ): Promise<RotateSecretResult> {
    if (options.webhookSecret !== undefined) validateSecret(options.webhookSecret);
    const graceMs = options.graceMs ?? this.#rotationGraceMs;
    if (!Number.isFinite(graceMs) || graceMs < 0) throw new WebhookError('invalid_request', 'graceMs must be >= 0');
    const webhookSecret = options.webhookSecret ?? generateWebhookSecret();
    for (let attempt = 0; ; attempt++) {
      const registration = await this.#owned(registrationId, tenantId, { fresh: true });
      const now = this.#clock.now();
      const previousSecretExpiresAt = new Date(now + graceMs);
      const stillValid = (registration.previousSecrets ?? []).filter((p) => p.expiresAt.getTime() > now);
      registration.previousSecrets = [
        { secret: registration.webhookSecret, expiresAt: previousSecretExpiresAt },
        ...stillValid,
      ].slice(0, MAX_PREVIOUS_SECRETS);
      registration.webhookSecret = webhookSecret;
      registration.updatedAt = new Date(now);
      if (options.webhookSecret !== undefined)
        registration.metadata = { ...registration.metadata, secretSupplied: true };
      else if (registration.metadata?.secretSupplied !== undefined) {
        const { secretSupplied: _, ...metadata } = registration.metadata;
        registration.metadata = metadata;
      }
      try {
        const updated = await this.#registrations.update(registration, ifMatch(registration));
        await this.#invalidate(updated.id);
        this.#log.info({ registrationId, tenantId }, 'webhook secret rotated');
        // Stored first, so that both secrets verify whenever the provider switches to the new one.
        const providerUpdated = await this.#installAtProvider(updated);
        return providerUpdated === undefined
          ? { webhookSecret, previousSecretExpiresAt }
          : { webhookSecret, previousSecretExpiresAt, providerUpdated };
      } catch (error) {
        if (!(isWebhookError(error) && error.code === 'conflict') || attempt >= 4) throw error;
      }
    }
  }

  async checkWebhookHealth(registrationId: string, tenantId?: string): Promise<WebhookHealth> {
    const registration =
      tenantId === undefined
        ? await this.#registrations.get(registrationId)
        : await this.#owned(registrationId, tenantId);
    if (!registration) throw new WebhookError('not_found', 'Webhook registration not found');
    return this.#health(registration);
  }

  async getUnhealthyWebhooks(tenantId: string): Promise<WebhookHealth[]> {
    const unhealthy: WebhookHealth[] = [];
    for (const registration of await this.listRegistrations(tenantId)) {
      const health = await this.#health(registration);
      if (health.status !== 'healthy') unhealthy.push(health);
    }
    return unhealthy;
  }

  async listRegistrations(
    tenantId: string,
    integrationId?: string,
    connectionId?: string,
  ): Promise<WebhookRegistration[]> {
    validateTenant(tenantId);
    const all: WebhookRegistration[] = [];
    let continuationToken: string | undefined;
    do {
      const page = await this.#registrations.listRegistrations(tenantId, {
        ...(integrationId !== undefined ? { integrationId } : {}),
        ...(connectionId !== undefined ? { connectionId } : {}),
        ...(continuationToken !== undefined ? { continuationToken } : {}),
        limit: 500,
      });
      all.push(...page.items);
      continuationToken = page.continuationToken;
    } while (continuationToken !== undefined);
    return all;
  }

  /** The registration, or null when it does not exist or belongs to another tenant. */
  async getWebhookRegistration(registrationId: string, tenantId?: string): Promise<WebhookRegistration | null> {
    if (!REGISTRATION_ID.test(registrationId)) return null;
    const registration = await this.#lookup(registrationId);
    if (!registration || (tenantId !== undefined && registration.tenantId !== tenantId)) return null;
    return structuredClone(registration);
  }

  async healthCheck(): Promise<ServiceHealth> {
    const cacheHitRate = Math.round(this.#cache.stats().hitRate * 100) / 100;
    try {
      const { total, failed } = await this.#registrations.counts();
      const outbox = await this.#outbox.outboxStats(new Date(this.#clock.now()));
      const degraded =
        (total > 0 && failed / total > 0.25) || outbox.oldestPendingAgeMs > 5 * 60_000 || outbox.dead > 0;
      return {
        status: degraded ? 'degraded' : 'healthy',
        registrationsCount: total,
        failedRegistrationsCount: failed,
        cacheHitRate,
      };
    } catch (error) {
      this.#log.error({ err: describeError(error) }, 'health check: store unavailable');
      return { status: 'unhealthy', registrationsCount: 0, failedRegistrationsCount: 0, cacheHitRate };
    }
  }

  async listDeliveries(registrationId: string, tenantId: string, limit = 50): Promise<DeliveryRecord[]> {
    const registration = await this.#owned(registrationId, tenantId);
    const capped = Math.max(1, Math.min(Number.isFinite(limit) ? Math.floor(limit) : 50, 500));
    return this.#deliveries.listDeliveries(registration.id, capped);
  }

  /**
   * Runs a stored delivery again from its raw bytes: verified again (as of when it arrived, with
   * the registration's current secrets, so a delivery rejected for a wrong secret can be replayed
   * once the right one is installed), parsed, matched and enqueued under fresh dedupe keys.
   */
  async replayDelivery(
    deliveryId: string,
    tenantId: string,
    options: { registrationId?: string } = {},
  ): Promise<ProcessOutcome> {
    const started = performance.now();
    const original =
      typeof deliveryId === 'string' && REGISTRATION_ID.test(deliveryId)
        ? await this.#deliveries.getDelivery(deliveryId)
        : null;
    const otherRegistration =
      options.registrationId !== undefined && original?.registrationId !== options.registrationId;
    if (!original || original.tenantId !== tenantId || otherRegistration) {
      throw new WebhookError('not_found', 'Delivery not found');
    }
    if (original.outcome === 'handshake') throw new WebhookError('invalid_request', 'A handshake cannot be replayed');
    if (original.bodyTruncated)
      throw new WebhookError('invalid_request', 'Only the first 4 KB of this rejected delivery were kept');
    const registration = await this.#owned(original.registrationId, tenantId);
    const provider = this.#providers.require(registration.integrationId);
    const request = toRequest(original.headers, original.body, {
      ...(original.url !== undefined ? { url: original.url } : {}),
      ...(original.method !== undefined ? { method: original.method } : {}),
    });
    // A delivery accepted with a credential we refused to store (Google's bearer token, a channel
    // token) was verified on arrival and cannot prove itself again; every other one must.
    const trusted = original.proofRedacted === true && original.outcome !== 'rejected';
    const verified = trusted
      ? { ok: true as const, secretIndex: original.secretIndex ?? 0 }
      : await provider.verify(request, { ...this.#verifyOptions(registration), now: original.receivedAt.getTime() });
    if (!verified.ok) {
      return Object.assign(failure(started, 401, 'invalid_signature', 'Invalid webhook signature'), {
        reason: verified.reason,
      });
    }
    let events: WebhookEvent[];
    try {
      const parsed = provider.parse(request, { now: original.receivedAt.getTime() });
      events = Array.isArray(parsed) ? parsed : [parsed];
    } catch (error) {
      return Object.assign(failure(started, 400, 'invalid_payload', 'Webhook payload could not be parsed'), {
        reason: isWebhookError(error) ? error.code : 'invalid_payload',
      });
    }
    const now = new Date(this.#clock.now());
    const replayId = newId('dlv');
    // Keys of their own, never claimed first (nobody else can hold them): the append commits them.
    const candidates = withDedupeKeys(events, request.body as Uint8Array).map(({ event, key }) => ({
      event,
      key: `replay:${replayId}:${key}`,
    }));
    const keys = candidates.map((c) => c.key);
    const tasks = this.#syncTasks(registration, candidates, replayId, now, false);
    const publications = this.#publishTasks(registration, candidates, replayId, now, tasks);
    await this.#storeDelivery(registration, request, now, 'accepted', started, {
      id: replayId,
      events: candidates.map((c) => c.event),
      keys,
      syncTriggered: tasks.length > 0,
      secretIndex: verified.secretIndex,
      tasks: [...tasks, ...publications],
      commit: this.#commitUntil(keys, now),
      replayOf: original.id,
    });
    const queued = !(await this.#dispatchInline(registration, tasks, now, this.#sendDeadline(provider)));
    if (publications.length > 0) this.#publishInBackground(registration, publications, now);
    return Object.assign(success(started, queued ? 202 : 200, events, tasks.length > 0 && !queued), {
      deliveryId: replayId,
      queued,
    });
  }

  /** The token a Notion handshake handed over, shown to the operator while the setup is pending. */
  async getPendingVerificationToken(registrationId: string, tenantId: string): Promise<string | null> {
    const registration = await this.#owned(registrationId, tenantId);
    return registration.status === 'pending_verification' && registration.metadata?.verificationTokenCaptured === true
      ? registration.webhookSecret
      : null;
  }

  // ---------------------------------------------------------------- internals

  async #lookup(registrationId: string): Promise<WebhookRegistration | null> {
    if (typeof registrationId !== 'string' || !REGISTRATION_ID.test(registrationId)) return null;
    const cached = await this.#cache.get(registrationId);
    if (cached) return cached;
    const invalidations = this.#invalidations;
    const stored = await this.#registrations.get(registrationId);
    // A change committed while the store was being read may have invalidated the cache already:
    // what was read is then possibly older, and cached it would be served for minutes (a rotated
    // secret refused, a deleted registration still accepting). The next lookup fills it instead.
    if (stored && invalidations === this.#invalidations) await this.#cache.set(stored);
    return stored;
  }

  /** Drops a changed registration from the cache, and keeps lookups under way from refilling it. */
  async #invalidate(registrationId: string): Promise<void> {
    this.#invalidations++;
    await this.#cache.invalidate(registrationId);
  }

  /** The registration when it belongs to the tenant; not_found otherwise (never forbidden). */
  async #owned(
    registrationId: string,
    tenantId: string,
    options: { fresh?: boolean } = {},
  ): Promise<WebhookRegistration> {
    validateTenant(tenantId);
    const registration =
      typeof registrationId === 'string' && REGISTRATION_ID.test(registrationId)
        ? options.fresh
          ? await this.#registrations.get(registrationId)
          : await this.#lookup(registrationId)
        : null;
    if (!registration || registration.tenantId !== tenantId) {
      throw new WebhookError('not_found', 'Webhook registration not found');
    }
    return registration;
  }

  /**
   * The registration's rate-limit keys, built once: a key concatenated afresh for every request
   * has to be flattened and hashed afresh by the limiter's map, twice per delivery. Bounded: the
   * cache starts over once it holds 10,000 registrations.
   */
  #limitKeys(registrationId: string): LimitKeys {
    let keys = this.#limitKeyCache.get(registrationId);
    if (!keys) {
      if (this.#limitKeyCache.size >= 10_000) this.#limitKeyCache.clear();
      keys = { flood: `flood:${registrationId}`, rate: `rate:${registrationId}` };
      this.#limitKeyCache.set(registrationId, keys);
    }
    return keys;
  }

  /**
   * One request against a per-minute limit, decided now by a limiter that decides in process
   * memory; undefined when the limiter has to be asked (#limit). Even awaiting a plain value costs
   * a turn of the microtask queue, which the receive path takes often enough to matter.
   */
  #limitNow(key: string, perMinute: number): RateLimitDecision | undefined {
    return this.#rateLimiter.consumeSync?.(key, perMinute, 60_000);
  }

  #limit(key: string, perMinute: number): Promise<RateLimitDecision> {
    return this.#rateLimiter.consume(key, perMinute, 60_000);
  }

  /** The registration's active secrets and verification settings, as of `now` (the clock's by default). */
  #verifyOptions(registration: WebhookRegistration, now = this.#clock.now()): VerifyOptions {
    const secrets = [registration.webhookSecret];
    const previousSecrets = registration.previousSecrets;
    if (previousSecrets) {
      for (const previous of previousSecrets) if (previous.expiresAt.getTime() > now) secrets.push(previous.secret);
    }
    const options: VerifyOptions = { secrets, now };
    const providerOptions = registration.providerOptions;
    if (providerOptions?.toleranceSeconds !== undefined) options.toleranceSeconds = providerOptions.toleranceSeconds;
    if (providerOptions?.google !== undefined) options.google = { ...providerOptions.google };
    if (providerOptions?.salesforceOrganizationId !== undefined) {
      options.salesforceOrganizationId = providerOptions.salesforceOrganizationId;
    }
    return options;
  }

  /**
   * Installs a rotated secret in the hook a registrar created at the provider; undefined when there
   * is none (or the registrar cannot), false when the provider did not take it.
   */
  async #installAtProvider(registration: WebhookRegistration): Promise<boolean | undefined> {
    const registrar = this.#registrars[registration.integrationId];
    if (!registration.providerWebhookId || !registrar?.updateSecret) return undefined;
    try {
      const credentials = (await this.#credentials?.get(registration.tenantId, registration.connectionId)) ?? null;
      await registrar.updateSecret({ registration, credentials });
      return true;
    } catch (error) {
      this.#log.warn(
        { err: describeError(error), registrationId: registration.id },
        'rotated secret not installed at the provider; install it by hand before the grace period ends',
      );
      return false;
    }
  }

  async #afterHandshake(registration: WebhookRegistration, capturedSecret: string | undefined): Promise<void> {
    if (capturedSecret !== undefined) {
      // Notion hands its verification token over once; it becomes the secret, and the setup stays
      // pending until a verified event proves the operator pasted it back into Notion. The request
      // is unsigned by design, so anyone with the URL could send one: only the first is taken,
      // and never over a secret the operator supplied.
      const captures = (r: WebhookRegistration) =>
        r.status === 'pending_verification' &&
        r.metadata?.verificationTokenCaptured !== true &&
        r.metadata?.secretSupplied !== true;
      if (!captures(registration)) return;
      await this.#updateRegistration(registration.id, (r) => {
        if (!captures(r)) return false;
        r.webhookSecret = capturedSecret;
        r.metadata = { ...r.metadata, verificationTokenCaptured: true };
      });
      return;
    }
    if (!registration.isVerified || registration.status === 'pending_verification')
      await this.#markVerified(registration);
  }

  async #markVerified(registration: WebhookRegistration): Promise<void> {
    try {
      await this.#updateRegistration(registration.id, (r) => {
        r.isVerified = true;
        if (r.status === 'pending_verification' || r.status === 'failed') r.status = 'active';
      });
    } catch (error) {
      this.#log.warn(
        { err: describeError(error), registrationId: registration.id },
        'could not mark registration verified',
      );
    }
  }

  /** Applies `change` to the stored registration (read afresh on a conflict); `false` from it changes nothing. */
  async #updateRegistration(id: string, change: (registration: WebhookRegistration) => unknown): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.#registrations.get(id);
      if (!current) return;
      if (change(current) === false) return;
      current.updatedAt = new Date(this.#clock.now());
      try {
        const updated = await this.#registrations.update(current, ifMatch(current));
        await this.#invalidate(updated.id);
        return;
      } catch (error) {
        if (!(isWebhookError(error) && error.code === 'conflict')) throw error;
      }
    }
  }

  async #recordOutcome(
    registration: WebhookRegistration,
    outcome: 'success' | 'failure',
    at: Date,
    counted = false,
  ): Promise<void> {
    try {
      if (!counted && outcome === 'success') this.#countLater(registration.id, 'success', at);
      else if (!counted) {
        // Successes counted later must not land after this failure and reset its streak.
        await this.#writeCounts();
        await this.#registrations.recordOutcome(registration.id, outcome, at);
      }
      if (outcome === 'failure') {
        const counters = await this.#registrations.getCounters(registration.id);
        if (counters.failureCount >= 3 && registration.status === 'active') {
          await this.#updateRegistration(registration.id, (r) => {
            r.status = 'failed';
            r.failureCount = counters.failureCount;
          });
        }
      } else if (registration.status === 'failed') {
        await this.#updateRegistration(registration.id, (r) => {
          r.status = 'active';
          r.failureCount = 0;
        });
      }
    } catch (error) {
      // The delivery itself is stored; counters are not worth failing it for.
      this.#log.warn({ err: describeError(error), registrationId: registration.id }, 'health counters not updated');
    }
  }

  async #recordRejection(
    registration: WebhookRegistration,
    request: WebhookRequest,
    receivedAt: Date,
    reason: string,
    started: number,
  ): Promise<void> {
    const diagnostics = diagnoseSignature(request, receivedAt.getTime());
    if (this.#debugSignatures) {
      // Asked for explicitly (WEBHOOK_DEBUG), so logged at info: it must show at the default level.
      this.#log.info(
        { registrationId: registration.id, provider: registration.integrationId, reason, ...diagnostics },
        'signature rejected',
      );
    }
    // Counted apart from downstream failures: a stranger posting junk cannot fail a healthy webhook.
    // Counted in batches, and stored only up to `rejectionsKeptPerMinute`: a flood of junk must not
    // turn into a flood of writes.
    this.#countLater(registration.id, 'verification_failure', receivedAt);
    if (!this.#keepRejection(registration.id, receivedAt.getTime())) return;
    try {
      await this.#storeDelivery(registration, request, receivedAt, 'rejected', started, { reason, diagnostics });
    } catch (error) {
      this.#log.warn({ err: describeError(error), registrationId: registration.id }, 'rejection not recorded');
    }
  }

  async #storeDelivery(
    registration: WebhookRegistration,
    request: WebhookRequest,
    receivedAt: Date,
    outcome: DeliveryOutcome,
    started: number,
    details: DeliveryDetails & {
      tasks?: NewOutboxTask[];
      /** The dedupe claims this delivery commits: only for one that accepts its events. */
      commit?: DedupeCommit;
    },
  ): Promise<void> {
    const record = this.#record(registration, request, receivedAt, outcome, started, details);
    await this.#deliveries.append(record, details.tasks ?? [], details.commit);
  }

  /**
   * The delivery record to store: headers without credentials, no secret in the body (Graph's
   * clientState), a rejected body cut to 4 KB.
   */
  #record(
    registration: WebhookRegistration,
    request: WebhookRequest,
    receivedAt: Date,
    outcome: DeliveryOutcome,
    started: number,
    details: DeliveryDetails,
  ): DeliveryRecord {
    const secrets = details.secrets ?? this.#verifyOptions(registration).secrets;
    const stored = storableHeaders(request.headers, secrets);
    const kept = storableBody(request.body as Uint8Array, secrets);
    const body = kept.body;
    const truncated = outcome === 'rejected' && body.byteLength > REJECTED_BODY_BYTES;
    const record: DeliveryRecord = {
      id: details.id ?? newId('dlv'),
      registrationId: registration.id,
      tenantId: registration.tenantId,
      receivedAt,
      headers: stored.headers,
      body: truncated ? body.subarray(0, REJECTED_BODY_BYTES) : body,
      outcome,
      events: details.events ? details.events.map(eventSummary) : [],
      dedupeKeys: details.keys ?? [],
      syncTriggered: details.syncTriggered ?? false,
      durationMs: elapsed(started),
    };
    if (truncated) record.bodyTruncated = true;
    if (stored.redacted || kept.redacted) record.proofRedacted = true;
    if (request.url !== undefined) record.url = request.url;
    if (request.method !== undefined) record.method = request.method;
    if (details.reason !== undefined) record.reason = details.reason;
    if (details.secretIndex !== undefined) record.secretIndex = details.secretIndex;
    if (details.diagnostics !== undefined) record.diagnostics = details.diagnostics;
    if (details.replayOf !== undefined) record.replayOf = details.replayOf;
    return record;
  }

  /** Commits `keys` for the dedupe TTL, counted from when the delivery arrived. */
  #commitUntil(keys: string[], receivedAt: Date): DedupeCommit {
    return { keys, expiresAt: new Date(receivedAt.getTime() + this.#dedupeTtlMs) };
  }

  /** Frees claims whose delivery will not be stored; one that cannot be freed lapses with its lease. */
  async #releaseClaims(registrationId: string, keys: string[]): Promise<void> {
    for (const key of keys) {
      await this.#deliveries.releaseDedupeKey(registrationId, key).catch((error: unknown) => {
        this.#log.warn(
          { err: describeError(error), registrationId: safeId(registrationId) },
          'dedupe claim not released',
        );
      });
    }
  }

  /**
   * Steps 7-8: the delivery, its matched sync tasks (and publish tasks) and its committed dedupe
   * claims, stored together. One write when none of its keys is claimed yet (the usual case);
   * otherwise each key is claimed first and only the fresh events are stored.
   */
  async #persist(delivery: PersistedDelivery): Promise<Persisted> {
    const { registration, request, receivedAt, started, candidates } = delivery;
    if (this.#deliveries.appendFresh) {
      const { tasks, publications, record, outbox, commit } = this.#plan(delivery, candidates);
      const written = await this.#deliveries.appendFresh(record, outbox, {
        commit,
        now: receivedAt,
        countSuccess: true,
      });
      if (written.status === 'stored') return { status: 'stored', tasks, publications, counted: written.counted };
    }

    const claimed: string[] = [];
    try {
      const fresh: Candidate[] = [];
      for (const candidate of candidates) {
        const claim = await this.#deliveries.claimDedupeKey(
          registration.id,
          candidate.key,
          this.#claimLeaseMs,
          receivedAt,
        );
        if (claim === 'in_progress') {
          await this.#releaseClaims(registration.id, claimed.splice(0));
          return { status: 'in_progress' };
        }
        if (claim === 'claimed') {
          claimed.push(candidate.key);
          fresh.push(candidate);
        }
      }
      if (fresh.length === 0) {
        await this.#storeDelivery(registration, request, receivedAt, 'duplicate', started, {
          events: candidates.map((c) => c.event),
          keys: candidates.map((c) => c.key),
        });
        return { status: 'duplicate' };
      }
      const { tasks, publications, record, outbox, commit } = this.#plan(delivery, fresh);
      await this.#deliveries.append(record, outbox, commit);
      return { status: 'stored', tasks, publications, counted: false };
    } catch (error) {
      // Not stored: free the claims so that the provider's retry need not wait out their lease.
      await this.#releaseClaims(registration.id, claimed);
      throw error;
    }
  }

  /** What storing the delivery with the events `fresh` writes: its record, tasks and dedupe commit. */
  #plan(
    delivery: PersistedDelivery,
    fresh: Candidate[],
  ): {
    tasks: NewOutboxTask[];
    publications: NewOutboxTask[];
    record: DeliveryRecord;
    outbox: NewOutboxTask[];
    commit: DedupeCommit;
  } {
    const { registration, request, receivedAt, started, deliveryId, availableAt, held } = delivery;
    const tasks = this.#syncTasks(registration, fresh, deliveryId, availableAt, held);
    const publications = this.#publishTasks(registration, fresh, deliveryId, receivedAt, tasks);
    const keys: string[] = [];
    const events: WebhookEvent[] = [];
    for (const candidate of fresh) {
      keys.push(candidate.key);
      events.push(candidate.event);
    }
    const details: DeliveryDetails = {
      id: deliveryId,
      events,
      keys,
      syncTriggered: tasks.length > 0 && !held,
      secrets: delivery.secrets,
    };
    if (delivery.secretIndex !== undefined) details.secretIndex = delivery.secretIndex;
    const outcome = tasks.length > 0 && held ? 'queued' : 'accepted';
    return {
      tasks,
      publications,
      record: this.#record(registration, request, receivedAt, outcome, started, details),
      outbox: [...tasks, ...publications],
      commit: this.#commitUntil(keys, receivedAt),
    };
  }

  /** A sync task for each event the registration's patterns match. */
  #syncTasks(
    registration: WebhookRegistration,
    events: Candidate[],
    deliveryId: string,
    availableAt: Date,
    held: boolean,
  ): NewOutboxTask[] {
    const tasks: NewOutboxTask[] = [];
    for (const { event, key } of events) {
      if (!shouldTriggerSync(registration.events, event.entityType, event.eventType)) continue;
      const messageId = messageIdFor(registration.id, key);
      const task: NewOutboxTask = {
        id: messageId,
        messageId,
        task: syncTaskFor(registration, event, key, deliveryId),
        availableAt,
        maxAttempts: this.#maxAttempts(registration),
      };
      // The receive path dispatches it right away; the lease keeps the dispatcher off it meanwhile.
      if (!held && this.#queue) task.leasedUntil = new Date(availableAt.getTime() + INLINE_LEASE_MS);
      tasks.push(task);
    }
    return tasks;
  }

  /**
   * One `webhook.received` per event when a publisher is configured, as an outbox task written
   * with the delivery: published right away, and by the publish dispatcher if that fails. Its id
   * comes from the dedupe key, so a repeat is recognisable.
   */
  #publishTasks(
    registration: WebhookRegistration,
    events: Candidate[],
    deliveryId: string,
    at: Date,
    syncTasks: NewOutboxTask[],
  ): NewOutboxTask[] {
    if (!this.#publisher || events.length === 0) return [];
    const { webhookSecret: _secret, previousSecrets: _previous, etag: _etag, ...webhook } = registration;
    const triggered = new Set(syncTasks.map((t) => t.messageId));
    return events.map(({ event, key }) => {
      const messageId = messageIdFor(registration.id, key);
      return {
        id: `pub_${messageId}`,
        messageId,
        kind: 'publish' as const,
        task: syncTaskFor(registration, event, key, deliveryId),
        event: {
          id: messageId,
          eventType: 'webhook.received' as const,
          subject: `/${registration.integrationId}/webhooks/${registration.id}`,
          eventTime: at,
          data: { webhook, event, syncTriggered: triggered.has(messageId) },
        },
        availableAt: at,
        leasedUntil: new Date(at.getTime() + INLINE_LEASE_MS),
        maxAttempts: this.#maxAttempts(registration),
      };
    });
  }

  #maxAttempts(registration: WebhookRegistration): number {
    return (registration.retryPolicy ?? this.#defaultRetryPolicy).maxRetries + 1;
  }

  /**
   * Enqueues the tasks, each send cut short by `deadline` (see #sendDeadline); true when all went
   * through, false when some wait in the outbox. A send that ran out of time means the queue is
   * hung: the tasks not yet sent are left to the dispatcher rather than given time of their own,
   * so that the answer never waits more than about one budget.
   */
  async #dispatchInline(
    registration: WebhookRegistration,
    tasks: NewOutboxTask[],
    now: Date,
    deadline: Deadline,
  ): Promise<boolean> {
    if (!this.#queue || tasks.length === 0) return true;
    const queue = this.#queue;
    let hung: unknown;
    if (tasks.length > 1 && queue.enqueueBatch) {
      try {
        await deadline.within(queue.enqueueBatch(tasks.map((t) => ({ task: t.task, messageId: t.messageId }))));
        for (const task of tasks) this.#completeLater(task);
        return true;
      } catch (error) {
        // Task by task below, unless the queue is hung: it drops any that the failed batch did send.
        if (error instanceof InlineSendTimeout) hung = error;
        else
          this.#log.warn({ err: describeError(error), tasks: tasks.length }, 'batch enqueue failed; trying each task');
      }
    }
    let all = true;
    for (const task of tasks) {
      try {
        if (hung !== undefined) throw hung;
        await deadline.within(queue.enqueue(task.task, { messageId: task.messageId }));
        this.#completeLater(task);
      } catch (error) {
        all = false;
        if (error instanceof InlineSendTimeout) hung = error;
        this.#log.warn(
          { err: describeError(error), messageId: task.messageId },
          'queue unavailable; task kept in the outbox',
        );
        await this.#retryLater(registration, task, error, now);
      }
    }
    return all;
  }

  /** Runs #publishInline off the answer's path; `settle()` waits for it. */
  #publishInBackground(registration: WebhookRegistration, publications: NewOutboxTask[], now: Date): void {
    const run = this.#publishInline(registration, publications, now).finally(() => this.#publishing.delete(run));
    this.#publishing.add(run);
  }

  /**
   * An inline send that takes longer than its budget (a broker that went away mid-send, a client
   * retrying) counts as failed: the answer does not wait for it, the task waits in the outbox, and
   * if the send did get through after all the queue drops the dispatcher's repeat. The budget is
   * `inlineSendTimeoutMs`, cut to half of the provider's `answerWithinMs` (Slack gives 3 s in all).
   * One timer per budget for every send under way, not one per send (see Deadline).
   */
  #sendDeadline(provider: WebhookProvider): Deadline {
    const within = provider.answerWithinMs;
    const budget =
      within === undefined ? this.#inlineSendTimeoutMs : Math.min(this.#inlineSendTimeoutMs, Math.max(50, within / 2));
    let deadline = this.#sendDeadlines.get(budget);
    if (!deadline) {
      deadline = new Deadline(budget, () => new InlineSendTimeout(budget));
      this.#sendDeadlines.set(budget, deadline);
    }
    return deadline;
  }

  /** Step 11: publishes the events; on failure they stay in the outbox for the publish dispatcher. */
  async #publishInline(registration: WebhookRegistration, publications: NewOutboxTask[], now: Date): Promise<void> {
    const publisher = this.#publisher;
    if (!publisher) return;
    try {
      await publisher.publish(publications.map((p) => p.event!));
      for (const publication of publications) this.#completeLater(publication);
    } catch (error) {
      this.#log.warn(
        { err: describeError(error), registrationId: registration.id },
        'event publish failed; kept in the outbox',
      );
      for (const publication of publications) await this.#retryLater(registration, publication, error, now);
    }
  }

  /** Counts a failed inline attempt: the dispatcher takes the task after the registration's backoff. */
  async #retryLater(registration: WebhookRegistration, task: NewOutboxTask, error: unknown, now: Date): Promise<void> {
    const { backoffSeconds } = registration.retryPolicy ?? this.#defaultRetryPolicy;
    await this.#outbox
      .retry(task.id, describeError(error).message, new Date(now.getTime() + backoffSeconds * 1000))
      .catch((e: unknown) =>
        this.#log.warn({ err: describeError(e) }, 'outbox retry not recorded; the lease will expire'),
      );
  }

  /**
   * Tasks the queue (or Event Grid) has taken are completed in the outbox in one write per turn of
   * the event loop, off the answer's path. A completion that is lost (a crash, a store error) only
   * means the task is sent again when its lease runs out, and dropped by the queue as a duplicate
   * of its message id.
   */
  #completeLater(task: NewOutboxTask): void {
    this.#completions.push(task.id);
    this.#completionRuns.schedule();
  }

  async #writeCompletions(): Promise<void> {
    const ids = this.#completions.splice(0);
    if (ids.length === 0) return;
    try {
      await completeTasks(this.#outbox, ids);
    } catch (error) {
      this.#log.warn(
        { err: describeError(error), tasks: ids.length },
        'sent tasks not completed; they are sent again after their lease (the queue drops the duplicates)',
      );
    }
  }

  /**
   * Successes the delivery's write could not count (a store whose counters live elsewhere, such as
   * Cosmos DB), and signature failures, are added up per registration and written as one increment
   * every COUNT_FLUSH_MS: one counter write per registration per interval, not one per request.
   */
  #countLater(registrationId: string, outcome: 'success' | 'verification_failure', at: Date): void {
    this.#keepCount(registrationId, outcome, at, 1);
    this.#countsArrived = true;
    // Written every COUNT_FLUSH_MS rather than every turn: junk spaced out in time would otherwise
    // still cost one counter write per request. Health reads write what is pending first.
    this.#countRuns.schedule();
  }

  #keepCount(registrationId: string, outcome: 'success' | 'verification_failure', at: Date, count: number): void {
    const id = `${outcome}:${registrationId}`;
    const pending = this.#pendingCounts.get(id);
    if (pending) {
      pending.count += count;
      if (at > pending.at) pending.at = at;
    } else {
      this.#pendingCounts.set(id, { registrationId, outcome, count, at });
    }
  }

  /** Whether to store this rejection: the first `rejectionsKeptPerMinute` of each minute are. */
  #keepRejection(registrationId: string, now: number): boolean {
    const minute = Math.floor(now / 60_000);
    const window = this.#keptRejections.get(registrationId);
    if (!window || window.minute !== minute) {
      if (this.#keptRejections.size >= 10_000) {
        for (const [id, w] of this.#keptRejections) if (w.minute !== minute) this.#keptRejections.delete(id);
      }
      this.#keptRejections.set(registrationId, { minute, kept: 1 });
      return this.#rejectionsKeptPerMinute > 0;
    }
    if (window.kept >= this.#rejectionsKeptPerMinute) return false;
    window.kept++;
    return true;
  }

  async #writeCounts(): Promise<void> {
    this.#countsArrived = false;
    if (this.#pendingCounts.size === 0) return;
    const pending = [...this.#pendingCounts.values()];
    this.#pendingCounts.clear();
    for (const { registrationId, outcome, count, at } of pending) {
      try {
        await this.#registrations.recordOutcome(registrationId, outcome, at, count);
        this.#countsFailing = false;
      } catch (error) {
        // Kept for the next write (when more counts arrive, or a health read or settle() writes
        // them), so a passing store outage loses no count; said once per outage, not every retry.
        this.#keepCount(registrationId, outcome, at, count);
        if (!this.#countsFailing)
          this.#log.warn({ err: describeError(error), registrationId, count }, 'health counters not updated; kept');
        this.#countsFailing = true;
      }
    }
  }

  /**
   * Resolves once every inline publish has finished, every task sent so far is completed in the
   * outbox, and every success is counted (for shutdown and tests).
   */
  async settle(): Promise<void> {
    while (this.#publishing.size > 0) await Promise.all(this.#publishing);
    await this.#completionRuns.idle();
    await this.#countRuns.idle();
    await this.#writeCounts();
  }

  #nextReleaseSlot(registrationId: string, now: Date): Date {
    const interval = 60_000 / this.#limits.perMinute;
    const slot = Math.max(now.getTime() + interval, (this.#releaseSlots.get(registrationId) ?? 0) + interval);
    this.#releaseSlots.set(registrationId, slot);
    return new Date(slot);
  }

  /**
   * The outcomes among `outcomes` of the registration's newest deliveries, read without their
   * bodies where the store can; otherwise the newest `limit` deliveries of any kind, filtered.
   */
  async #recentOutcomes(
    registrationId: string,
    outcomes: readonly DeliveryOutcome[],
    limit: number,
  ): Promise<DeliveryOutcome[]> {
    if (this.#deliveries.recentOutcomes) return this.#deliveries.recentOutcomes(registrationId, outcomes, limit);
    const recent = await this.#deliveries.listDeliveries(registrationId, limit);
    return recent.map((d) => d.outcome).filter((outcome) => outcomes.includes(outcome));
  }

  async #health(registration: WebhookRegistration): Promise<WebhookHealth> {
    await this.#writeCounts();
    const counters = await this.#registrations.getCounters(registration.id);
    // The last `healthWindow` deliveries that reached a downstream outcome (signature rejections,
    // handshakes and duplicates left out).
    const counted = await this.#recentOutcomes(registration.id, HEALTH_OUTCOMES, this.#healthWindow);
    const failed = counted.filter((outcome) => outcome === 'invalid_payload').length;
    return classifyHealth({
      registrationId: registration.id,
      status: registration.status,
      failureCount: counters.failureCount,
      failureRate: failureRatePercent(failed, counted.length),
      ...(counters.lastEventAt ? { lastEventAt: counters.lastEventAt } : {}),
      ...(counters.lastFailureAt ? { lastFailureAt: counters.lastFailureAt } : {}),
      now: new Date(this.#clock.now()),
      silentAfterMs: this.#silentAfterMs,
      signaturesFailing: await this.#signaturesFailing(registration.id),
    });
  }

  /**
   * Whether the registration's newest deliveries that reached verification were all rejected (a
   * rotation the provider has not picked up, or a stranger's junk: only a recommendation says so).
   */
  async #signaturesFailing(registrationId: string): Promise<boolean> {
    const streak = SIGNATURE_FAILURE_STREAK;
    const outcomes = await this.#recentOutcomes(registrationId, VERIFIED_OR_REJECTED, streak);
    return outcomes.length >= streak && outcomes.every((outcome) => outcome === 'rejected');
  }
}

// ------------------------------------------------------------------ helpers

/** An inline queue send that ran out of its budget (see #sendDeadline). */
class InlineSendTimeout extends Error {
  constructor(budgetMs: number) {
    super(`queue send took longer than ${budgetMs} ms`);
    this.name = 'InlineSendTimeout';
  }
}

/** What a caller passing something else has misused the API with (answered 400, never 5xx). */
function isRequestShape(headers: unknown, rawBody: unknown): boolean {
  const headersOk =
    headers === undefined || headers === null || (typeof headers === 'object' && !Array.isArray(headers));
  return headersOk && (typeof rawBody === 'string' || rawBody instanceof Uint8Array);
}

function toRequest(headers: HeaderMap, rawBody: string | Uint8Array, options: ProcessWebhookOptions): WebhookRequest {
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody;
  const request: WebhookRequest = { headers: headers ?? {}, body };
  if (options.url !== undefined) request.url = options.url;
  if (options.method !== undefined) request.method = options.method;
  return request;
}

/** A registration's keys in the rate limiter: any request, and verified deliveries. */
interface LimitKeys {
  flood: string;
  rate: string;
}

/** What a delivery record keeps of an event. */
function eventSummary(event: WebhookEvent): DeliveryRecord['events'][number] {
  const summary: DeliveryRecord['events'][number] = {
    eventType: event.eventType,
    entityType: event.entityType,
    entityId: event.entityId,
  };
  if (event.deliveryId !== undefined) summary.deliveryId = event.deliveryId;
  return summary;
}

/** An event and its dedupe key. */
interface Candidate {
  event: WebhookEvent;
  key: string;
}

/** A delivery on its way to the store (see #persist). */
interface PersistedDelivery {
  registration: WebhookRegistration;
  request: WebhookRequest;
  receivedAt: Date;
  /** When processing began (performance.now()), for the record's duration. */
  started: number;
  deliveryId: string;
  candidates: Candidate[];
  availableAt: Date;
  held: boolean;
  secretIndex: number | undefined;
  /** The registration's active secrets (kept out of the stored headers). */
  secrets: string[];
}

type Persisted =
  | { status: 'stored'; tasks: NewOutboxTask[]; publications: NewOutboxTask[]; counted: boolean }
  | { status: 'duplicate' }
  | { status: 'in_progress' };

/** What a stored delivery record says beyond its request. */
interface DeliveryDetails {
  id?: string;
  reason?: string;
  events?: WebhookEvent[];
  keys?: string[];
  syncTriggered?: boolean;
  secretIndex?: number;
  diagnostics?: DeliveryRecord['diagnostics'];
  replayOf?: string;
  /** The registration's active secrets, when the caller has them already. */
  secrets?: string[];
}

/**
 * Each event with its dedupe key: the provider's delivery id, or a hash of the signed bytes (and
 * the event's place in a batch). An event whose key came earlier in the same delivery is dropped:
 * it is a repeat, and claiming its key twice would look like a copy in flight.
 */
function withDedupeKeys(events: WebhookEvent[], body: Uint8Array): Candidate[] {
  if (events.length === 1) {
    const event = events[0]!;
    const key = event.deliveryId ? `id:${event.deliveryId}` : `sha256:${hash('sha256', body, 'hex')}`;
    return [{ event, key }];
  }
  let bodyHash: string | undefined;
  const seen = new Set<string>();
  const candidates: Candidate[] = [];
  events.forEach((event, i) => {
    let key: string;
    if (event.deliveryId) key = `id:${event.deliveryId}`;
    else {
      bodyHash ??= hash('sha256', body, 'hex');
      key = `sha256:${bodyHash}:${i}`;
    }
    if (seen.has(key)) return;
    seen.add(key);
    candidates.push({ event, key });
  });
  return candidates;
}

function syncTaskFor(
  registration: WebhookRegistration,
  event: WebhookEvent,
  key: string,
  deliveryId: string,
): SyncTask {
  return {
    integrationId: registration.integrationId,
    connectionId: registration.connectionId,
    syncType: 'webhook_triggered',
    webhookEventId: event.entityId,
    metadata: { webhook: registration.id, delivery: deliveryId },
    tenantId: registration.tenantId,
    eventType: event.eventType,
    entityType: event.entityType,
    entityId: event.entityId,
    deliveryId: event.deliveryId ?? key,
  };
}

/** A queue message id from the dedupe key: stable across retries, so duplicate detection holds. */
function messageIdFor(registrationId: string, dedupeKey: string): string {
  // One-shot hash of the same bytes the incremental hash was given (the separator is ASCII, so the
  // concatenation encodes as the parts do): ids are unchanged, and a third of the cost.
  return hash('sha256', `${registrationId}\u0000${dedupeKey}`, 'base64url').slice(0, 32);
}

/** Random bytes for ids, drawn from the CSPRNG 4 KB at a time (a call per id costs more than the id). */
const idRandom = Buffer.alloc(4096);
let idRandomOffset = idRandom.length;
/** The last millisecond an id was made in, and its 12 hex digits (a double's toString(16) is slow). */
let idTimeMs = -1;
let idTimeHex = '';

/**
 * The time in milliseconds (12 hex digits) then 128 random bits (32 hex digits). Ids sort by
 * creation, so a store's index on them grows at its end instead of splitting pages all over it.
 */
function newId(prefix: string): string {
  if (idRandomOffset === idRandom.length) {
    randomFillSync(idRandom);
    idRandomOffset = 0;
  }
  const random = idRandom.toString('hex', idRandomOffset, idRandomOffset + 16);
  idRandomOffset += 16;
  const now = Date.now();
  if (now !== idTimeMs) {
    idTimeMs = now;
    idTimeHex = now.toString(16).padStart(12, '0');
  }
  return `${prefix}_${idTimeHex}${random}`;
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}

function failure(started: number, status: number, code: string, error: string): ProcessOutcome {
  return { success: false, status, code, error, processingTimeMs: elapsed(started) };
}

function success(started: number, status: number, events: WebhookEvent[], syncTriggered: boolean): ProcessOutcome {
  const first = events[0];
  const outcome: ProcessOutcome = {
    success: true,
    status,
    syncTriggered,
    processingTimeMs: elapsed(started),
    events: events.length,
  };
  if (first) {
    outcome.eventType = first.eventType;
    outcome.entityId = first.entityId;
  }
  return outcome;
}

/** Another request holds a pending claim on one of the events: retry shortly, nothing is stored. */
function inProgress(started: number): ProcessOutcome {
  return Object.assign(failure(started, 503, 'in_progress', 'This delivery is being processed; retry shortly'), {
    retryAfterSeconds: IN_PROGRESS_RETRY_AFTER_SECONDS,
  });
}

function rateLimited(started: number, decision: RateLimitDecision): ProcessOutcome {
  return Object.assign(failure(started, 429, 'rate_limited', 'Too many requests for this webhook'), {
    retryAfterSeconds: decision.retryAfterSeconds,
    rateLimit: decision,
  });
}

function ifMatch(registration: WebhookRegistration): { ifMatch?: string } {
  return registration.etag === undefined ? {} : { ifMatch: registration.etag };
}

function validateTenant(tenantId: string): void {
  if (typeof tenantId !== 'string' || tenantId.length === 0 || tenantId.length > 200) {
    throw new WebhookError('invalid_request', 'tenantId must be a string of 1 to 200 characters');
  }
}

function validateEvents(events: unknown): asserts events is string[] {
  if (!Array.isArray(events) || events.length === 0 || events.length > 100) {
    throw new WebhookError('invalid_request', 'events must be a list of 1 to 100 event patterns');
  }
  for (const pattern of events) {
    if (typeof pattern !== 'string' || !isValidEventPattern(pattern)) {
      throw new WebhookError(
        'invalid_request',
        'Each event pattern is dot-separated segments, such as contact.created, contact.* or *',
      );
    }
  }
}

function validateRetryPolicy(policy: RetryPolicy): void {
  const { maxRetries, backoffSeconds } = policy ?? {};
  if (
    !Number.isInteger(maxRetries) ||
    maxRetries < 0 ||
    maxRetries > 100 ||
    !Number.isFinite(backoffSeconds) ||
    backoffSeconds < 0 ||
    backoffSeconds > 86_400
  ) {
    throw new WebhookError('invalid_request', 'retryPolicy needs maxRetries 0-100 and backoffSeconds 0-86400');
  }
}

function validateSecret(secret: unknown): void {
  if (typeof secret !== 'string' || secret.length < 8 || secret.length > 1024 || /\s/.test(secret)) {
    throw new WebhookError('invalid_request', 'webhookSecret must be 8 to 1024 characters without spaces');
  }
}

function safeId(id: unknown): string {
  return typeof id === 'string' ? id.slice(0, 100) : typeof id;
}

function describeError(error: unknown): { name: string; message: string; code?: string } {
  if (error instanceof Error) {
    const described: { name: string; message: string; code?: string } = {
      name: error.name,
      message: error.message.slice(0, 500),
    };
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') described.code = code;
    return described;
  }
  return { name: 'Error', message: String(error).slice(0, 500) };
}
