/**
 * Time limits on the query path without a timer and an AbortController per query (creating an
 * AbortSignal costs more than answering an alias from memory): queries that start within the
 * same tenth of the limit share one signal, aborted between `ms` and `ms * 1.1` after each of
 * them started.
 */
import { type Clock, type TimerHandle, asError } from '../lib/index.js';

interface Bucket {
  readonly start: number;
  readonly controller: AbortController;
  timer?: TimerHandle;
}

export class SharedDeadlines {
  readonly #clock: Clock;
  readonly #current = new Map<number, Bucket>();
  readonly #live = new Set<Bucket>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** A signal that aborts with `reason()` at least `ms` (at most 10% more) from now. */
  signal(ms: number, reason: () => Error): AbortSignal {
    const now = this.#clock.monotonic();
    const slice = Math.max(1, Math.floor(ms / 10));
    const current = this.#current.get(ms);
    if (current !== undefined && now - current.start < slice) return current.controller.signal;
    const bucket: Bucket = { start: now, controller: new AbortController() };
    bucket.timer = this.#clock.setTimeout(() => {
      this.#live.delete(bucket);
      if (this.#current.get(ms) === bucket) this.#current.delete(ms);
      bucket.controller.abort(reason());
    }, ms + slice);
    this.#live.add(bucket);
    this.#current.set(ms, bucket);
    return bucket.controller.signal;
  }

  /** Aborts every live signal and releases the timers. */
  close(reason: Error): void {
    for (const bucket of this.#live) {
      bucket.timer?.cancel();
      bucket.controller.abort(reason);
    }
    this.#live.clear();
    this.#current.clear();
  }
}

export function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}

/** Settles like `promise`, or rejects with `onTimeout()` after `ms`; the timer is always released. */
export function raceTimeout<T>(
  promise: PromiseLike<T>,
  ms: number,
  clock: Clock,
  onTimeout: () => Error,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimeout(() => {
      reject(onTimeout());
    }, ms);
    promise.then(
      (value) => {
        timer.cancel();
        resolve(value);
      },
      (error: unknown) => {
        timer.cancel();
        reject(asError(error));
      },
    );
  });
}
