interface Watch {
  deadline: number;
  fail: (error: Error) => void;
}

/**
 * Fails each promise it watches that has not settled within `timeoutMs`, with one timer for all of
 * them rather than one per promise: a setTimeout and clearTimeout for every inline send was a
 * measurable share of the receive path, though nearly every send settles long before its deadline.
 *
 * Every watch has the same timeout, so watches started in order have deadlines in that order: the
 * timer is armed for the oldest pending one, and when it fires it fails every watch that is due and
 * moves on to the next. Like a timer per send, it keeps the process alive while a watch is pending
 * and not once none is.
 */
export class Deadline {
  readonly #timeoutMs: number;
  readonly #error: () => Error;
  /** Pending watches, oldest first (a Set keeps insertion order and deletes in O(1)). */
  readonly #pending = new Set<Watch>();
  #timer: NodeJS.Timeout | undefined;
  /** The deadline the timer is armed for. */
  #armedFor = 0;

  constructor(timeoutMs: number, error: () => Error) {
    this.#timeoutMs = timeoutMs;
    this.#error = error;
  }

  /** Settles as `work` does, or rejects with the timeout error once `timeoutMs` have passed. */
  within<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const watch: Watch = { deadline: performance.now() + this.#timeoutMs, fail: reject };
      this.#pending.add(watch);
      if (this.#pending.size === 1) this.#arm(watch.deadline);
      // Work that settles after its deadline has nobody waiting for it (and its rejection is handled).
      work.then(
        (value) => {
          if (this.#done(watch)) resolve(value);
        },
        (error: unknown) => {
          if (this.#done(watch)) reject(error);
        },
      );
    });
  }

  /** Stops watching; false when the watch had already timed out. */
  #done(watch: Watch): boolean {
    if (!this.#pending.delete(watch)) return false;
    // Nothing left to time out: the armed timer no longer holds the process open.
    if (this.#pending.size === 0) this.#timer?.unref();
    return true;
  }

  /** Makes sure the timer fires by `deadline` and holds the process open until then. */
  #arm(deadline: number): void {
    if (this.#timer && this.#armedFor <= deadline) {
      this.#timer.ref();
      return;
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#armedFor = deadline;
    this.#timer = setTimeout(() => this.#expire(), Math.max(0, deadline - performance.now()));
  }

  #expire(): void {
    this.#timer = undefined;
    // The timer firing means its deadline has come, even if performance.now() (read at another
    // moment, or left alone by fake timers) says it is a hair early.
    const now = Math.max(performance.now(), this.#armedFor);
    for (const watch of this.#pending) {
      if (watch.deadline > now) {
        this.#arm(watch.deadline);
        return;
      }
      this.#pending.delete(watch);
      watch.fail(this.#error());
    }
  }
}
