/**
 * Notices that the machine slept (or the process was stopped): a periodic timer on the injected
 * clock compares how far the wall clock and the monotonic clock moved since the last tick. A
 * resume from suspend moves the wall clock and not the monotonic one (Linux's CLOCK_MONOTONIC
 * stops during sleep); a stopped process moves both, but long after the tick was due.
 */
import type { Clock, TimerHandle } from './clock.js';

export interface WakeDetectorOptions {
  readonly clock: Clock;
  /** Called once per gap, with its length in ms. */
  readonly onWake: (gapMs: number) => void;
  /** How often to look (default 5 s). */
  readonly intervalMs?: number;
  /** A gap longer than this is a wake (default 30 s). */
  readonly thresholdMs?: number;
}

export class WakeDetector {
  readonly #o: WakeDetectorOptions;
  #timer: TimerHandle | undefined;
  #wall = 0;
  #mono = 0;

  constructor(options: WakeDetectorOptions) {
    this.#o = options;
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#mark();
    this.#schedule();
  }

  close(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #mark(): void {
    this.#wall = this.#o.clock.now();
    this.#mono = this.#o.clock.monotonic();
  }

  #schedule(): void {
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#tick();
    }, this.#o.intervalMs ?? 5_000);
  }

  #tick(): void {
    const interval = this.#o.intervalMs ?? 5_000;
    const threshold = this.#o.thresholdMs ?? 30_000;
    const wall = this.#o.clock.now() - this.#wall;
    const mono = this.#o.clock.monotonic() - this.#mono;
    this.#mark();
    this.#schedule();
    // The wall clock jumped (either way), or the tick came far later than it was due.
    const jump = Math.abs(wall - mono);
    const late = mono - interval;
    const gap = Math.max(jump, late);
    if (gap > threshold) this.#o.onWake(gap);
  }
}
