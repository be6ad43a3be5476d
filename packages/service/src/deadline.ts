interface Watch {
  deadline: number;
  fail: (error: Error) => void;
  /** Neighbours in the list of pending watches; `pending` is false once it is off the list. */
  previous: Watch | undefined;
  next: Watch | undefined;
  pending: boolean;
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
  /**
   * Pending watches, oldest first, as a doubly linked list: a watch leaves it in O(1) wherever it
   * is, and adding and removing one allocates nothing (a Set's table was reallocated as often as
   * every few sends, since each send adds one entry and deletes it).
   */
  #oldest: Watch | undefined;
  #newest: Watch | undefined;
  #size = 0;
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
      const watch: Watch = {
        deadline: performance.now() + this.#timeoutMs,
        fail: reject,
        previous: this.#newest,
        next: undefined,
        pending: true,
      };
      if (this.#newest) this.#newest.next = watch;
      else this.#oldest = watch;
      this.#newest = watch;
      if (++this.#size === 1) this.#arm(watch.deadline);
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
    if (!watch.pending) return false;
    this.#remove(watch);
    // Nothing left to time out: the armed timer no longer holds the process open.
    if (this.#size === 0) this.#timer?.unref();
    return true;
  }

  #remove(watch: Watch): void {
    const { previous, next } = watch;
    if (previous) previous.next = next;
    else this.#oldest = next;
    if (next) next.previous = previous;
    else this.#newest = previous;
    watch.previous = undefined;
    watch.next = undefined;
    watch.pending = false;
    this.#size--;
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
    for (let watch = this.#oldest; watch; watch = this.#oldest) {
      if (watch.deadline > now) {
        this.#arm(watch.deadline);
        return;
      }
      this.#remove(watch);
      watch.fail(this.#error());
    }
  }
}
