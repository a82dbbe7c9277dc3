/**
 * Token buckets per key (a client address, an OS user): each key may do `burst` things at once
 * and `perSecond` more every second after that. The number of keys is bounded: when it is full,
 * keys whose bucket has refilled are forgotten (they are as if new), and if none has, the oldest
 * key is, so that a flood of new keys costs memory for `maxKeys` of them only.
 */
import type { Clock } from './clock.js';

export interface RateLimit {
  /** What a key may do at once, after a quiet time. */
  readonly burst: number;
  /** How fast a key's allowance refills. */
  readonly perSecond: number;
}

export interface RateLimiterOptions extends RateLimit {
  readonly clock: Clock;
  /** Keys remembered at most (default 4096). */
  readonly maxKeys?: number;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date. */
  at: number;
}

export class RateLimiter {
  readonly #clock: Clock;
  readonly #burst: number;
  readonly #perMs: number;
  readonly #maxKeys: number;
  /** In insertion order: the first entries are the oldest keys. */
  readonly #buckets = new Map<string | number, Bucket>();

  constructor(options: RateLimiterOptions) {
    const { burst, perSecond } = options;
    if (!Number.isFinite(burst) || burst < 1) throw new RangeError('burst must be at least 1');
    if (!Number.isFinite(perSecond) || perSecond <= 0) {
      throw new RangeError('perSecond must be a positive number');
    }
    this.#clock = options.clock;
    this.#burst = burst;
    this.#perMs = perSecond / 1000;
    this.#maxKeys = options.maxKeys ?? 4096;
    if (!Number.isInteger(this.#maxKeys) || this.#maxKeys < 1) {
      throw new RangeError('maxKeys must be a positive integer');
    }
  }

  /** Takes one from the key's allowance; false (and nothing taken) when it is used up. */
  take(key: string | number): boolean {
    const now = this.#clock.monotonic();
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#maxKeys) this.#forgetSome(now);
      bucket = { tokens: this.#burst, at: now };
      this.#buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.at) * this.#perMs);
      bucket.at = now;
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** The number of keys remembered now. */
  get size(): number {
    return this.#buckets.size;
  }

  #forgetSome(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + (now - bucket.at) * this.#perMs >= this.#burst) this.#buckets.delete(key);
    }
    if (this.#buckets.size < this.#maxKeys) return;
    const oldest = this.#buckets.keys().next();
    if (oldest.done !== true) this.#buckets.delete(oldest.value);
  }
}
