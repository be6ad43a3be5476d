/** Lifecycle of a registration. `pending_verification` waits for a handshake or a first verified event. */
export type RegistrationStatus = 'active' | 'inactive' | 'failed' | 'pending_verification';

export interface RetryPolicy {
  maxRetries: number;
  backoffSeconds: number;
}

/** A secret that still verifies after a rotation, until `expiresAt`. */
export interface PreviousSecret {
  secret: string;
  expiresAt: Date;
}

/** Provider-specific verification settings kept on a registration (never secrets). */
export interface RegistrationProviderOptions {
  google?: {
    audience?: string;
    serviceAccountEmail?: string;
    /** Where Google's signing keys are fetched from (Google's certs URL by default). */
    jwksUri?: string;
    /** Google's signing keys given inline, for receivers that cannot reach Google's certs URL. */
    jwks?: { keys: object[] };
  };
  salesforceOrganizationId?: string;
  toleranceSeconds?: number;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface WebhookRegistration {
  id: string;
  tenantId: string;
  /** The provider id: 'github', 'slack', 'salesforce', ... */
  integrationId: string;
  connectionId: string;
  webhookUrl: string;
  /** The newest secret, in plain text in memory only; stores keep it encrypted. */
  webhookSecret: string;
  /** Secrets replaced by a rotation that keep verifying until they expire. */
  previousSecrets?: PreviousSecret[];
  providerWebhookId?: string;
  /** Event patterns such as 'contact.created', 'contact.*', '*.deleted' or '*'. */
  events: string[];
  status: RegistrationStatus;
  isVerified: boolean;
  /** Consecutive downstream failures; reset by a success. */
  failureCount: number;
  metadata?: Record<string, unknown>;
  retryPolicy?: RetryPolicy;
  providerOptions?: RegistrationProviderOptions;
  createdAt: Date;
  updatedAt: Date;
  /** Optimistic-concurrency tag set by the store. */
  etag?: string;
}

/** The normalised event every provider's payload is turned into. */
export interface WebhookEvent {
  providerId: string;
  eventType: string;
  entityType: string;
  entityId: string;
  data: Record<string, unknown>;
  timestamp: Date;
  /** The provider's dedupe key for this delivery (or item of a batch). */
  deliveryId?: string;
}

export type HealthStatus = 'healthy' | 'degraded' | 'failed';

export interface WebhookHealth {
  registrationId: string;
  status: HealthStatus;
  failureCount: number;
  lastEventAt?: Date;
  lastFailureAt?: Date;
  /** Percentage (0-100) of failed deliveries in the recent window. */
  failureRate: number;
  recommendations: string[];
}

export interface WebhookProcessResult {
  success: boolean;
  error?: string;
  eventType?: string;
  entityId?: string;
  syncTriggered?: boolean;
  processingTimeMs: number;
}

export interface ServiceHealth {
  status: 'healthy' | 'degraded' | 'unhealthy';
  registrationsCount: number;
  failedRegistrationsCount: number;
  cacheHitRate: number;
}
