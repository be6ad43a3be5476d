/**
 * Runs `flush` once, after `delayMs` (the next turn of the event loop when 0), for all the work
 * queued meanwhile; and again after a run while `pending()` says work is still queued (work queued
 * while a flush was under way).
 */
export class Coalescer {
  readonly #flush: () => Promise<void>;
  readonly #pending: () => boolean;
  readonly #delayMs: number;
  #run: Promise<void> | undefined;

  constructor(flush: () => Promise<void>, pending: () => boolean, delayMs = 0) {
    this.#flush = flush;
    this.#pending = pending;
    this.#delayMs = delayMs;
  }

  schedule(): void {
    this.#run ??= this.#wait()
      .then(this.#flush)
      .finally(() => {
        this.#run = undefined;
        if (this.#pending()) this.schedule();
      });
  }

  /** Resolves once no run is scheduled or under way. */
  async idle(): Promise<void> {
    while (this.#run) await this.#run;
  }

  #wait(): Promise<void> {
    return new Promise<void>((resolve) =>
      this.#delayMs > 0 ? setTimeout(resolve, this.#delayMs).unref() : setImmediate(resolve),
    );
  }
}
