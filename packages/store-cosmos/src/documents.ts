import { createHash } from 'node:crypto';
import {
  type ApiKeyRecord,
  type DeliveryRecord,
  decodePublishedEvent,
  encodePublishedEvent,
  type NewOutboxTask,
  type OutboxStatus,
  type OutboxTask,
  type OutboxTaskKind,
  type RegistrationCounters,
  type SecretBox,
  type WebhookRegistration,
} from '@webhooks/core';

/** Registration ids we issue and accept: anything else is "not found" before any request is made. */
export const REGISTRATION_ID = /^[A-Za-z0-9_-]{1,100}$/;

/** Characters Cosmos accepts in an `id` without escaping ('/', '\\', '?' and '#' are not allowed). */
const PLAIN_ID = /^[A-Za-z0-9_-]{1,200}$/;

export const isRegistrationId = (id: unknown): id is string => typeof id === 'string' && REGISTRATION_ID.test(id);

export const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('base64url');

/**
 * Maps a caller's id to a Cosmos item id: plain ids stay readable, anything else becomes `h.<sha256>`
 * (a '.' never occurs in a plain id, so the two forms cannot collide).
 */
export const itemKey = (prefix: string, id: string): string =>
  `${prefix}.${PLAIN_ID.test(id) ? id : `h.${sha256(id)}`}`;

/** Cosmos system properties we read back. */
export interface SystemProperties {
  _etag?: string;
  _ts?: number;
}

export interface SealedPreviousSecret {
  sealedSecret: string;
  expiresAt: string;
}

/** A registration in `WebhookRegistrations` (pk /tenantId). Secrets are sealed, never plain text. */
export interface RegistrationDocument extends SystemProperties {
  id: string;
  tenantId: string;
  type: 'registration';
  integrationId: string;
  connectionId: string;
  webhookUrl: string;
  sealedSecret: string;
  previousSecrets?: SealedPreviousSecret[];
  providerWebhookId?: string;
  events: string[];
  status: WebhookRegistration['status'];
  isVerified: boolean;
  failureCount: number;
  metadata?: Record<string, unknown>;
  retryPolicy?: WebhookRegistration['retryPolicy'];
  providerOptions?: WebhookRegistration['providerOptions'];
  createdAt: string;
  updatedAt: string;
}

/**
 * The receive path's pointer in `WebhookLookups` (pk /id): registration id -> tenant, so `get` is two
 * point reads and never a cross-partition query. It also carries the health counters, which change
 * with atomic `patch` increments and never rewrite the registration document.
 */
export interface RegistrationPointer extends SystemProperties {
  id: string;
  kind: 'registration';
  tenantId: string;
  processedEventCount: number;
  failureCount: number;
  verificationFailureCount: number;
  lastEventAt?: string;
  lastFailureAt?: string;
  lastVerificationFailureAt?: string;
}

/** An API key, found by a point read on its hash (`keyhash.<hash>` in `WebhookLookups`). */
export interface ApiKeyDocument extends SystemProperties {
  id: string;
  kind: 'apiKey';
  keyId: string;
  tenantId: string;
  keyHash: string;
  name?: string;
  createdAt: string;
  revokedAt?: string;
}

/** `apikey.<id>` in `WebhookLookups`: makes key ids unique and lets `revokeApiKey(id)` find the key. */
export interface ApiKeyIdDocument extends SystemProperties {
  id: string;
  kind: 'apiKeyId';
  tenantId: string;
  hashItemId: string;
}

/** A stored delivery in `WebhookDeliveries` (pk /registrationId). */
export interface DeliveryDocument extends SystemProperties {
  id: string;
  type: 'delivery';
  deliveryId: string;
  registrationId: string;
  tenantId: string;
  receivedAt: string;
  receivedAtMs: number;
  /** Tie-breaker for deliveries received in the same millisecond: newest first is insertion order. */
  seq: number;
  headers: Record<string, string>;
  /** Base64 body when it fits in the document; otherwise `bodyChunks` chunk documents hold it. */
  body?: string;
  bodyChunks?: number;
  bodyLength: number;
  bodySha256?: string;
  bodyTruncated?: boolean;
  proofRedacted?: boolean;
  url?: string;
  method?: string;
  outcome: DeliveryRecord['outcome'];
  reason?: string;
  events: DeliveryRecord['events'];
  dedupeKeys: string[];
  syncTriggered: boolean;
  secretIndex?: number;
  diagnostics?: DeliveryRecord['diagnostics'];
  replayOf?: string;
  durationMs?: number;
  ttl?: number;
}

/** One slice of a body too large for one item (Cosmos items are at most 2 MB). */
export interface BodyChunkDocument extends SystemProperties {
  id: string;
  type: 'bodyChunk';
  registrationId: string;
  deliveryId: string;
  index: number;
  data: string;
  ttl?: number;
}

/** A dedupe claim: id is a hash of the key, so the provider's text never becomes an id or query text. */
export interface ClaimDocument extends SystemProperties {
  id: string;
  type: 'claim';
  registrationId: string;
  /**
   * 'pending' while its delivery is being stored (a short lease), 'committed' once the batch that
   * stored the delivery wrote it. Absent on claims written before two-phase claims, which were
   * taken as final: they count as committed.
   */
  state?: 'pending' | 'committed';
  expiresAtMs: number;
  ttl: number;
}

/** The claim item's id for a dedupe key. */
export const claimItemId = (key: string): string => `c.${sha256(key)}`;

/** An outbox task, in its delivery's partition so both are written in one batch. */
export interface OutboxDocument extends SystemProperties {
  id: string;
  type: 'outbox';
  taskId: string;
  registrationId: string;
  tenantId: string;
  integrationId: string;
  messageId: string;
  /** Absent on tasks written before task kinds, which were all sync tasks. */
  kind?: OutboxTaskKind;
  task: NewOutboxTask['task'];
  /** A publish task's event as JSON text (`encodePublishedEvent`), so its dates survive the trip. */
  event?: string;
  status: OutboxStatus;
  attempts: number;
  maxAttempts: number;
  availableAtMs: number;
  leasedUntilMs?: number;
  createdAtMs: number;
  lastError?: string;
}

const iso = (date: Date): string => date.toISOString();
const optionalDate = (value: string | undefined): Date | undefined =>
  value === undefined ? undefined : new Date(value);

export function toRegistrationDocument(registration: WebhookRegistration, secretBox: SecretBox): RegistrationDocument {
  const doc: RegistrationDocument = {
    id: registration.id,
    tenantId: registration.tenantId,
    type: 'registration',
    integrationId: registration.integrationId,
    connectionId: registration.connectionId,
    webhookUrl: registration.webhookUrl,
    sealedSecret: secretBox.seal(registration.webhookSecret),
    events: [...registration.events],
    status: registration.status,
    isVerified: registration.isVerified,
    failureCount: registration.failureCount,
    createdAt: iso(registration.createdAt),
    updatedAt: iso(registration.updatedAt),
  };
  if (registration.previousSecrets !== undefined) {
    doc.previousSecrets = registration.previousSecrets.map((p) => ({
      sealedSecret: secretBox.seal(p.secret),
      expiresAt: iso(p.expiresAt),
    }));
  }
  if (registration.providerWebhookId !== undefined) doc.providerWebhookId = registration.providerWebhookId;
  if (registration.metadata !== undefined) doc.metadata = registration.metadata;
  if (registration.retryPolicy !== undefined) doc.retryPolicy = registration.retryPolicy;
  if (registration.providerOptions !== undefined) doc.providerOptions = registration.providerOptions;
  return doc;
}

export function fromRegistrationDocument(doc: RegistrationDocument, secretBox: SecretBox): WebhookRegistration {
  const registration: WebhookRegistration = {
    id: doc.id,
    tenantId: doc.tenantId,
    integrationId: doc.integrationId,
    connectionId: doc.connectionId,
    webhookUrl: doc.webhookUrl,
    webhookSecret: secretBox.open(doc.sealedSecret),
    events: doc.events,
    status: doc.status,
    isVerified: doc.isVerified,
    failureCount: doc.failureCount,
    createdAt: new Date(doc.createdAt),
    updatedAt: new Date(doc.updatedAt),
  };
  if (doc.previousSecrets !== undefined) {
    registration.previousSecrets = doc.previousSecrets.map((p) => ({
      secret: secretBox.open(p.sealedSecret),
      expiresAt: new Date(p.expiresAt),
    }));
  }
  if (doc.providerWebhookId !== undefined) registration.providerWebhookId = doc.providerWebhookId;
  if (doc.metadata !== undefined) registration.metadata = doc.metadata;
  if (doc.retryPolicy !== undefined) registration.retryPolicy = doc.retryPolicy;
  if (doc.providerOptions !== undefined) registration.providerOptions = doc.providerOptions;
  if (doc._etag !== undefined) registration.etag = doc._etag;
  return registration;
}

export function newPointer(id: string, tenantId: string): RegistrationPointer {
  return { id, kind: 'registration', tenantId, processedEventCount: 0, failureCount: 0, verificationFailureCount: 0 };
}

export function countersOf(pointer: RegistrationPointer): RegistrationCounters {
  const counters: RegistrationCounters = {
    processedEventCount: pointer.processedEventCount ?? 0,
    failureCount: pointer.failureCount ?? 0,
    verificationFailureCount: pointer.verificationFailureCount ?? 0,
  };
  const lastEventAt = optionalDate(pointer.lastEventAt);
  const lastFailureAt = optionalDate(pointer.lastFailureAt);
  const lastVerificationFailureAt = optionalDate(pointer.lastVerificationFailureAt);
  if (lastEventAt) counters.lastEventAt = lastEventAt;
  if (lastFailureAt) counters.lastFailureAt = lastFailureAt;
  if (lastVerificationFailureAt) counters.lastVerificationFailureAt = lastVerificationFailureAt;
  return counters;
}

/** The delivery document without its body fields, which the caller fills (inline or chunked). */
export function toDeliveryDocument(record: DeliveryRecord, seq: number, ttl: number | undefined): DeliveryDocument {
  const doc: DeliveryDocument = {
    id: itemKey('d', record.id),
    type: 'delivery',
    deliveryId: record.id,
    registrationId: record.registrationId,
    tenantId: record.tenantId,
    receivedAt: iso(record.receivedAt),
    receivedAtMs: record.receivedAt.getTime(),
    seq,
    headers: { ...record.headers },
    bodyLength: record.body.byteLength,
    outcome: record.outcome,
    events: record.events.map((e) => ({ ...e })),
    dedupeKeys: [...record.dedupeKeys],
    syncTriggered: record.syncTriggered,
  };
  if (record.bodyTruncated !== undefined) doc.bodyTruncated = record.bodyTruncated;
  if (record.proofRedacted !== undefined) doc.proofRedacted = record.proofRedacted;
  if (record.url !== undefined) doc.url = record.url;
  if (record.method !== undefined) doc.method = record.method;
  if (record.reason !== undefined) doc.reason = record.reason;
  if (record.secretIndex !== undefined) doc.secretIndex = record.secretIndex;
  if (record.diagnostics !== undefined) doc.diagnostics = record.diagnostics;
  if (record.replayOf !== undefined) doc.replayOf = record.replayOf;
  if (record.durationMs !== undefined) doc.durationMs = record.durationMs;
  if (ttl !== undefined) doc.ttl = ttl;
  return doc;
}

export function fromDeliveryDocument(doc: DeliveryDocument, body: Uint8Array, truncated: boolean): DeliveryRecord {
  const record: DeliveryRecord = {
    id: doc.deliveryId,
    registrationId: doc.registrationId,
    tenantId: doc.tenantId,
    receivedAt: new Date(doc.receivedAt),
    headers: doc.headers,
    body,
    outcome: doc.outcome,
    events: doc.events,
    dedupeKeys: doc.dedupeKeys,
    syncTriggered: doc.syncTriggered,
  };
  if (doc.bodyTruncated !== undefined || truncated) record.bodyTruncated = truncated || doc.bodyTruncated === true;
  if (doc.proofRedacted !== undefined) record.proofRedacted = doc.proofRedacted;
  if (doc.url !== undefined) record.url = doc.url;
  if (doc.method !== undefined) record.method = doc.method;
  if (doc.reason !== undefined) record.reason = doc.reason;
  if (doc.secretIndex !== undefined) record.secretIndex = doc.secretIndex;
  if (doc.diagnostics !== undefined) record.diagnostics = doc.diagnostics;
  if (doc.replayOf !== undefined) record.replayOf = doc.replayOf;
  if (doc.durationMs !== undefined) record.durationMs = doc.durationMs;
  return record;
}

export function toOutboxDocument(task: NewOutboxTask, registrationId: string, createdAt: Date): OutboxDocument {
  const doc: OutboxDocument = {
    id: itemKey('o', task.id),
    type: 'outbox',
    taskId: task.id,
    registrationId,
    tenantId: task.task.tenantId,
    integrationId: task.task.integrationId,
    messageId: task.messageId,
    kind: task.kind ?? 'sync',
    task: structuredClone(task.task),
    status: task.leasedUntil ? 'leased' : 'pending',
    attempts: 0,
    maxAttempts: task.maxAttempts,
    availableAtMs: task.availableAt.getTime(),
    createdAtMs: createdAt.getTime(),
  };
  if (task.leasedUntil) doc.leasedUntilMs = task.leasedUntil.getTime();
  // The event travels with, and only with, a publish task.
  if (doc.kind === 'publish' && task.event !== undefined) doc.event = encodePublishedEvent(task.event);
  return doc;
}

export function fromOutboxDocument(doc: OutboxDocument): OutboxTask {
  const task: OutboxTask = {
    id: doc.taskId,
    messageId: doc.messageId,
    kind: doc.kind ?? 'sync',
    task: doc.task,
    availableAt: new Date(doc.availableAtMs),
    maxAttempts: doc.maxAttempts,
    status: doc.status,
    attempts: doc.attempts,
    createdAt: new Date(doc.createdAtMs),
  };
  if (doc.leasedUntilMs !== undefined) task.leasedUntil = new Date(doc.leasedUntilMs);
  if (doc.lastError !== undefined) task.lastError = doc.lastError;
  if (task.kind === 'publish' && doc.event !== undefined) task.event = decodePublishedEvent(doc.event);
  return task;
}

export function fromApiKeyDocument(doc: ApiKeyDocument): ApiKeyRecord {
  const record: ApiKeyRecord = {
    id: doc.keyId,
    tenantId: doc.tenantId,
    keyHash: doc.keyHash,
    createdAt: new Date(doc.createdAt),
  };
  if (doc.name !== undefined) record.name = doc.name;
  if (doc.revokedAt !== undefined) record.revokedAt = new Date(doc.revokedAt);
  return record;
}

/** Strips Cosmos system properties before a replace, so they are not written back as data. */
export function withoutSystem<T extends SystemProperties>(doc: T): Omit<T, keyof SystemProperties> {
  const { _etag: _e, _ts: _t, ...rest } = doc as T & { _rid?: string; _self?: string; _attachments?: string };
  const clean = rest as Record<string, unknown>;
  for (const key of Object.keys(clean)) if (key.startsWith('_')) delete clean[key];
  return clean as Omit<T, keyof SystemProperties>;
}
