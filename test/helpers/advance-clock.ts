/**
 * For integration beds on a ManualClock: what waits on the clock (the relay's half-close and
 * idle timers, spare refills) happens only when the test moves it on.
 */
import type { ManualClock } from '../../src/lib/index.js';

/** Moves `clock` on by `stepMs` every 20 ms of real time until `done` settles (at most 500 steps). */
export async function advanceUntil<T>(
  clock: ManualClock,
  done: Promise<T>,
  stepMs: number,
): Promise<T> {
  const state = { settled: false };
  void done.finally(() => (state.settled = true)).catch(() => undefined);
  for (let i = 0; i < 500 && !state.settled; i++) {
    await new Promise((r) => setTimeout(r, 20));
    clock.advance(stepMs);
  }
  return done;
}
