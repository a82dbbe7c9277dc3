/**
 * AbortSignal.timeout on the injected clock: the signal aborts with a TimeoutError after `ms`,
 * as the built-in one does, and `cancel` releases the timer once the bounded work is over.
 */
import type { Clock } from './clock.js';

export interface TimeoutSignal {
  readonly signal: AbortSignal;
  /** Releases the timer; the signal then never aborts by time. */
  readonly cancel: () => void;
}

export function timeoutSignal(clock: Clock, ms: number): TimeoutSignal {
  const controller = new AbortController();
  const timer = clock.setTimeout(() => {
    controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
  }, ms);
  return {
    signal: controller.signal,
    cancel: () => {
      timer.cancel();
    },
  };
}

/** Runs `run` with a signal that aborts after `ms`; the timer is released however it ends. */
export async function withTimeout<T>(
  clock: Clock,
  ms: number,
  run: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const bound = timeoutSignal(clock, ms);
  try {
    return await run(bound.signal);
  } finally {
    bound.cancel();
  }
}
