/** The admin API as the panel sees it: typed answers, bearer auth, paths relative to the receiver. */

export type RegistrationStatus = 'active' | 'inactive' | 'failed' | 'pending_verification';
export type HealthStatus = 'healthy' | 'degraded' | 'failed';

export interface Registration {
  id: string;
  tenantId: string;
  integrationId: string;
  connectionId: string;
  webhookUrl: string;
  events: string[];
  status: RegistrationStatus;
  isVerified: boolean;
  failureCount: number;
  providerWebhookId?: string;
  metadata?: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
  previousSecretsExpireAt: string[];
  pendingVerificationToken?: string;
}

export interface Health {
  registrationId: string;
  status: HealthStatus;
  failureCount: number;
  lastEventAt?: string;
  lastFailureAt?: string;
  failureRate: number;
  recommendations: string[];
}

export interface CreatedRegistration {
  registrationId: string;
  webhookUrl: string;
  webhookSecret: string;
  status: RegistrationStatus;
  createdAt: string;
  setup?: string[];
}

export interface RotatedSecret {
  webhookSecret: string;
  previousSecretExpiresAt: string;
}

export type DeliveryOutcome =
  | 'accepted'
  | 'queued'
  | 'duplicate'
  | 'rejected'
  | 'invalid_payload'
  | 'rate_limited'
  | 'handshake';

export interface Delivery {
  id: string;
  registrationId: string;
  receivedAt: string;
  headers: Record<string, string>;
  body: string;
  bodyEncoding: 'utf8' | 'base64';
  bodyTruncated?: boolean;
  proofRedacted?: boolean;
  method?: string;
  outcome: DeliveryOutcome;
  reason?: string;
  events: Array<{ eventType: string; entityType: string; entityId: string; deliveryId?: string }>;
  syncTriggered: boolean;
  secretIndex?: number;
  diagnostics?: {
    signatureHeaders: string[];
    bodyLength: number;
    contentType?: string;
    timestampSkewSeconds?: number;
  };
  replayOf?: string;
  durationMs?: number;
}

export interface ProcessResult {
  success: boolean;
  error?: string;
  code?: string;
  reason?: string;
  eventType?: string;
  entityId?: string;
  syncTriggered?: boolean;
  duplicate?: boolean;
  queued?: boolean;
  deliveryId?: string;
  processingTimeMs: number;
}

export interface MinuteStats {
  minute: string;
  received: number;
  accepted: number;
  rejected: number;
  duplicates: number;
  syncsTriggered: number;
  rejectedByReason: Record<string, number>;
  outboxWaiting: number;
}

export interface Stats {
  from: string;
  to: string;
  hours: number;
  registrations: number;
  truncated: boolean;
  totals: { received: number; accepted: number; rejected: number; duplicates: number; syncsTriggered: number };
  rejectionsByReason: Record<string, number>;
  minutes: MinuteStats[];
  outbox: { pending: number; dead: number; oldestPendingAgeMs: number };
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The receiver's root: the folder above /admin/. Resolving API paths against it (instead of '/')
 * keeps the panel working when the receiver is published under a path prefix.
 */
export function apiRoot(location: Location = window.location): URL {
  const here = new URL(location.href);
  here.hash = '';
  here.search = '';
  const match = /^(.*\/)admin\/?[^/]*$/.exec(here.pathname);
  return new URL(match ? match[1]! : '/', here);
}

export interface Client {
  get<T>(path: string): Promise<T>;
  send<T>(method: 'POST' | 'DELETE', path: string, body?: unknown): Promise<T>;
}

/** A client bound to one API key; the key travels only in the Authorization header. */
export function createClient(apiKey: string, onUnauthorized: () => void): Client {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = new URL(path.replace(/^\/+/, ''), apiRoot());
    const headers: Record<string, string> = { authorization: `Bearer ${apiKey}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(url, {
      method,
      headers,
      credentials: 'omit',
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text.length > 0 ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    if (!response.ok) {
      const answer = (parsed ?? {}) as { error?: unknown; code?: unknown };
      if (response.status === 401) onUnauthorized();
      throw new ApiError(
        response.status,
        typeof answer.code === 'string' ? answer.code : 'http_error',
        typeof answer.error === 'string' ? answer.error : `The receiver answered ${response.status}`,
      );
    }
    return parsed as T;
  }
  return {
    get: (path) => call('GET', path),
    send: (method, path, body) => call(method, path, body),
  };
}

/** Checks a key without keeping it: the list route answers 401 for an unknown key. */
export async function checkKey(apiKey: string): Promise<void> {
  await createClient(apiKey, () => undefined).get('webhooks');
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return `The receiver could not be reached (${error.message})`;
  return 'Something went wrong';
}
