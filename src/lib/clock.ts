/**
 * The clock every component uses instead of Date.now() and the global timers, so that tests
 * advance time instead of sleeping.
 */
export interface TimerHandle {
  /** Stops the timer; calling it after the timer fired, or twice, does nothing. */
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Milliseconds on a clock that never jumps (stops while the machine sleeps, on Linux). */
  monotonic(): number;
  /** Runs `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout(fn, ms) {
    const timer = setTimeout(fn, ms);
    return {
      cancel: () => {
        clearTimeout(timer);
      },
    };
  },
};

interface PendingTimer {
  readonly due: number;
  readonly seq: number;
  readonly fn: () => void;
}

/** A clock that moves only when told to; timers fire in due order during `advance`. */
export class ManualClock implements Clock {
  #now: number;
  #monotonic = 0;
  #seq = 0;
  readonly #timers = new Set<PendingTimer>();

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  monotonic(): number {
    return this.#monotonic;
  }

  /** The wall clock alone moves (set by hand, NTP, a resume from sleep); no timer fires. */
  jumpWall(ms: number): void {
    this.#now += ms;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    // Due on the monotonic clock, as Node's timers are: a wall-clock jump fires none.
    const timer: PendingTimer = { due: this.#monotonic + Math.max(0, ms), seq: this.#seq++, fn };
    this.#timers.add(timer);
    return { cancel: () => this.#timers.delete(timer) };
  }

  /** The number of timers that have not fired or been cancelled. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way, in order. */
  advance(ms: number): void {
    const end = this.#monotonic + ms;
    for (;;) {
      const next = this.#nextDue(end);
      if (next === undefined) break;
      this.#timers.delete(next);
      this.#now += next.due - this.#monotonic;
      this.#monotonic = next.due;
      next.fn();
    }
    this.#now += end - this.#monotonic;
    this.#monotonic = end;
  }

  #nextDue(limit: number): PendingTimer | undefined {
    let best: PendingTimer | undefined;
    for (const t of this.#timers) {
      if (t.due > limit) continue;
      if (best === undefined || t.due < best.due || (t.due === best.due && t.seq < best.seq)) {
        best = t;
      }
    }
    return best;
  }
}
