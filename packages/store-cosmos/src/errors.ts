/**
 * Cosmos DB could not do what was asked (throttled past the retry budget, unreachable, timed out, or
 * answered with an unexpected status). Deliberately a plain Error and not a 4xx `WebhookError`: the
 * service turns it into 503, so the provider retries instead of losing the delivery.
 */
export class CosmosStoreError extends Error {
  override readonly name = 'CosmosStoreError';
  /** Stable code for logs and callers. */
  readonly code = 'store_unavailable';
  /** The HTTP status Cosmos answered with, or undefined for a transport failure. */
  readonly statusCode: number | undefined;
  /** From the server's `x-ms-retry-after-ms` on a 429, so a caller can answer `Retry-After`. */
  readonly retryAfterInMs: number | undefined;

  constructor(message: string, options: { statusCode?: number; retryAfterInMs?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.statusCode = options.statusCode;
    this.retryAfterInMs = options.retryAfterInMs;
  }
}

/** The HTTP status of an `@azure/cosmos` ErrorResponse, or undefined (network errors carry string codes). */
export function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, statusCode } = error as { code?: unknown; statusCode?: unknown };
  if (typeof code === 'number') return code;
  if (typeof statusCode === 'number') return statusCode;
  return undefined;
}

/** Wraps anything the SDK threw; the message is fixed so no request detail leaks into answers. */
export function toStoreError(error: unknown, operation: string): CosmosStoreError {
  if (error instanceof CosmosStoreError) return error;
  const statusCode = statusOf(error);
  const retryAfter = (error as { retryAfterInMs?: unknown } | null)?.retryAfterInMs;
  const options: { statusCode?: number; retryAfterInMs?: number; cause: unknown } = { cause: error };
  if (statusCode !== undefined) options.statusCode = statusCode;
  if (typeof retryAfter === 'number') options.retryAfterInMs = retryAfter;
  const why = statusCode === 429 ? 'throttled' : statusCode === undefined ? 'unreachable' : `status ${statusCode}`;
  return new CosmosStoreError(`Cosmos DB ${operation} failed (${why})`, options);
}
