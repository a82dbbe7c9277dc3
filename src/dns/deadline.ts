/** Runs async work with a time limit from the injected clock and an outer AbortSignal. */
import type { Clock } from '../lib/clock.js';

/**
 * Calls `run` with a signal that aborts when `ms` pass (rejecting with `onTimeout()`) or when
 * `outer` aborts (rejecting with its reason); settles with `run`'s result otherwise. The timer
 * and the listener on `outer` are always released.
 */
export function withDeadline<T>(
  run: (signal: AbortSignal) => Promise<T>,
  ms: number,
  clock: Clock,
  outer: AbortSignal,
  onTimeout: () => Error,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (outer.aborted) {
      reject(outer.reason as Error);
      return;
    }
    const controller = new AbortController();
    let done = false;
    const finish = (): void => {
      done = true;
      timer.cancel();
      outer.removeEventListener('abort', onOuterAbort);
    };
    const fail = (error: Error): void => {
      if (done) return;
      finish();
      controller.abort(error);
      reject(error);
    };
    const onOuterAbort = (): void => {
      fail(outer.reason as Error);
    };
    const timer = clock.setTimeout(() => {
      fail(onTimeout());
    }, ms);
    outer.addEventListener('abort', onOuterAbort);
    run(controller.signal).then(
      (value) => {
        if (done) return;
        finish();
        resolve(value);
      },
      (error: unknown) => {
        fail(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
