/** When the next alias refresh runs: the interval ±10 % jitter, or a capped backoff after failures. */
export const JITTER = 0.1;
export const BACKOFF_BASE_MS = 1_000;
export const DEFAULT_MAX_BACKOFF_MS = 5 * 60_000;

/** `random` is in [0, 1). */
export function nextRefreshDelay(intervalMs: number, random: () => number): number {
  return Math.round(intervalMs * (1 - JITTER + 2 * JITTER * random()));
}

/** After `failures` failures in a row (≥ 1): 1 s, 2 s, 4 s … up to `maxMs`, with ±10 % jitter. */
export function backoffDelay(failures: number, maxMs: number, random: () => number): number {
  const base = Math.min(BACKOFF_BASE_MS * 2 ** Math.min(failures - 1, 30), maxMs);
  return Math.round(base * (1 - JITTER + 2 * JITTER * random()));
}
