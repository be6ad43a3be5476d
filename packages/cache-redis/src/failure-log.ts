import type { ServiceLogger } from '@webhooks/service';

export const silentLogger: ServiceLogger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Logs the first failure of an outage, then at most one summary every `everyMs`, and one line when
 * it recovers: a Redis outage at thousands of requests per second must not flood the log.
 */
export class FailureLog {
  readonly #logger: ServiceLogger;
  readonly #what: string;
  readonly #everyMs: number;
  #failing = false;
  #suppressed = 0;
  #lastLoggedAt = 0;

  constructor(logger: ServiceLogger, what: string, everyMs = 10_000) {
    this.#logger = logger;
    this.#what = what;
    this.#everyMs = everyMs;
  }

  failed(error: unknown): void {
    const now = Date.now();
    if (this.#failing && now - this.#lastLoggedAt < this.#everyMs) {
      this.#suppressed++;
      return;
    }
    this.#logger.warn(
      { err: describe(error), suppressed: this.#suppressed },
      `${this.#what}: redis unavailable, degrading`,
    );
    this.#failing = true;
    this.#suppressed = 0;
    this.#lastLoggedAt = now;
  }

  succeeded(): void {
    if (!this.#failing) return;
    this.#failing = false;
    this.#logger.info({ suppressed: this.#suppressed }, `${this.#what}: redis available again`);
    this.#suppressed = 0;
  }
}

function describe(error: unknown): { name: string; message: string } {
  return error instanceof Error
    ? { name: error.name, message: error.message }
    : { name: 'Error', message: String(error) };
}
