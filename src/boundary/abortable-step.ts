/**
 * One step of a network exchange, bounded by an AbortSignal and a deadline on the injected
 * clock, whatever happens first; the step's listeners are removed however it ends.
 */
import { type Clock, asError } from '../lib/index.js';

export interface StepContext {
  readonly clock: Clock;
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
}

/**
 * Runs one step: `run` wires listeners and returns a function that removes them. The step ends
 * at the first of resolve, reject, abort or deadline; on failure `dispose` tears down the socket.
 */
export function step<T>(
  ctx: StepContext,
  onTimeout: () => Error,
  dispose: () => void,
  run: (resolve: (value: T) => void, reject: (error: unknown) => void) => () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const state = { settled: false };
    let unwire: () => void = () => undefined;
    const finish = (): boolean => {
      if (state.settled) return false;
      state.settled = true;
      timer.cancel();
      ctx.signal.removeEventListener('abort', onAbort);
      unwire();
      return true;
    };
    const fail = (error: unknown): void => {
      if (!finish()) return;
      dispose();
      reject(asError(error));
    };
    const onAbort = (): void => {
      fail(ctx.signal.reason);
    };
    const timer = ctx.clock.setTimeout(() => {
      fail(onTimeout());
    }, ctx.timeoutMs);
    if (ctx.signal.aborted) {
      onAbort();
      return;
    }
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    unwire = run((value) => {
      if (finish()) resolve(value);
    }, fail);
    if (state.settled) unwire();
  });
}
