import { WebhookError } from '@webhooks/core';

/** The one error parsers throw for bad input: a short fixed message, never payload content. */
export function invalidPayload(message: string, reason?: string): WebhookError {
  return reason === undefined
    ? new WebhookError('invalid_payload', message)
    : new WebhookError('invalid_payload', message, { reason });
}

/**
 * Wraps a parser so that it only ever throws WebhookError. Anything else is a bug in a parser
 * (or a runaway input such as a stack overflow): it still reaches the caller as invalid_payload,
 * with the original error as `cause` for debugging.
 */
export function guarded<A extends unknown[], R>(parse: (...args: A) => R): (...args: A) => R {
  return (...args: A): R => {
    try {
      return parse(...args);
    } catch (error) {
      if (error instanceof WebhookError) throw error;
      throw new WebhookError('invalid_payload', 'Unparseable payload', { cause: error });
    }
  };
}
