/** Counts failures in a sliding window: "10 network failures in 60 s" is the self-pause rule. */
import type { Clock } from '../lib/index.js';

export class FailureWindow {
  readonly #clock: Clock;
  readonly #limit: number;
  readonly #windowMs: number;
  #times: number[] = [];

  constructor(options: { clock: Clock; limit: number; windowMs: number }) {
    this.#clock = options.clock;
    this.#limit = options.limit;
    this.#windowMs = options.windowMs;
  }

  /** Records one failure; true when the window now holds `limit` of them. */
  record(): boolean {
    const now = this.#clock.monotonic();
    this.#times = this.#times.filter((t) => now - t < this.#windowMs);
    this.#times.push(now);
    return this.#times.length >= this.#limit;
  }

  reset(): void {
    this.#times = [];
  }
}
