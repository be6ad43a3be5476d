/** The stable error vocabulary. Codes never change meaning; messages never contain secrets. */
export const WEBHOOK_ERROR_STATUS = {
  invalid_request: 400,
  invalid_payload: 400,
  unsupported_provider: 400,
  unauthorized: 401,
  invalid_signature: 401,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  internal: 500,
  store_unavailable: 503,
  queue_unavailable: 503,
} as const;

export type WebhookErrorCode = keyof typeof WEBHOOK_ERROR_STATUS;

export interface WebhookErrorOptions {
  /** Overrides the HTTP status hint of the code. */
  status?: number;
  cause?: unknown;
  /** A machine-readable detail, such as a verification reason. Never a secret. */
  reason?: string;
}

export class WebhookError extends Error {
  override readonly name = 'WebhookError';
  readonly code: WebhookErrorCode;
  /** The HTTP status a server should answer with. */
  readonly status: number;
  readonly reason?: string;

  constructor(code: WebhookErrorCode, message: string, options: WebhookErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status ?? WEBHOOK_ERROR_STATUS[code];
    if (options.reason !== undefined) this.reason = options.reason;
  }

  toJSON(): { error: string; code: WebhookErrorCode; reason?: string } {
    return this.reason === undefined
      ? { error: this.message, code: this.code }
      : { error: this.message, code: this.code, reason: this.reason };
  }
}

export function isWebhookError(value: unknown): value is WebhookError {
  return value instanceof WebhookError;
}
