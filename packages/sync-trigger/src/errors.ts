import { WebhookError } from '@webhooks/core';

/** Service Bus error codes (ServiceBusError.code) that mean "this will not work until someone fixes the setup". */
const SETUP_ERRORS: Record<string, (queue: string) => string> = {
  MessagingEntityNotFound: (queue) => `Service Bus queue "${queue}" does not exist`,
  UnauthorizedAccess: (queue) =>
    `Service Bus credentials rejected for queue "${queue}" (check SharedAccessKeyName/SharedAccessKey and that the key may Send)`,
  MessagingEntityDisabled: (queue) => `Service Bus queue "${queue}" is disabled`,
  MessageSizeExceeded: (queue) => `A sync task is larger than queue "${queue}" accepts`,
  QuotaExceeded: (queue) => `Service Bus queue "${queue}" is full (quota exceeded)`,
  SessionCannotBeLocked: (queue) => `Service Bus queue "${queue}" refused the session`,
};

/** Transport-level failures: the namespace could not be reached or did not answer in time. */
const UNREACHABLE = new Set([
  'ServiceCommunicationProblem',
  'ServiceTimeout',
  'ServiceBusy',
  'GeneralError',
  'OperationTimeoutError',
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
]);

/**
 * Turns whatever the SDK threw into WebhookError('queue_unavailable') whose message names the
 * cause in words an operator can act on. The message is built here, never copied from a
 * connection string; an SDK message is only echoed for unknown errors, with keys and signatures cut.
 */
export function toQueueError(error: unknown, queue: string): WebhookError {
  if (error instanceof WebhookError) return error;
  const cause = rootCause(error);
  const code = codeOf(cause);
  const setup = code ? SETUP_ERRORS[code] : undefined;
  if (setup && code) return new WebhookError('queue_unavailable', setup(queue), { cause: error, reason: code });
  if (code && UNREACHABLE.has(code)) {
    return new WebhookError('queue_unavailable', `Service Bus is unreachable for queue "${queue}" (${code})`, {
      cause: error,
      reason: code,
    });
  }
  const detail = cause instanceof Error && cause.message ? `: ${redact(cause.message).slice(0, 200)}` : '';
  return new WebhookError('queue_unavailable', `Service Bus send to queue "${queue}" failed${detail}`, {
    cause: error,
    reason: code ?? 'unknown',
  });
}

/** core-amqp's retry throws an AggregateError of every attempt; the last attempt says the most. */
function rootCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 5; depth++) {
    if (current instanceof AggregateError && current.errors.length > 0) {
      current = current.errors.find((e) => codeOf(e) && SETUP_ERRORS[codeOf(e)!]) ?? current.errors.at(-1);
      continue;
    }
    return current;
  }
  return current;
}

function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, name } = error as { code?: unknown; name?: unknown };
  if (typeof code === 'string' && code) return code;
  if (name === 'OperationTimeoutError') return 'OperationTimeoutError';
  return undefined;
}

/** Strips anything that looks like a key or a SAS signature from text that came from elsewhere. */
export function redact(text: string): string {
  return text
    .replace(/(SharedAccessKey|SharedAccessSignature|AccessKey)=[^;\s]*/gi, '$1=<redacted>')
    .replace(/([?&]sig=)[^&\s]*/gi, '$1<redacted>');
}
