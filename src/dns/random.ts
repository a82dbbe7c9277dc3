/**
 * Cryptographic random integers for query ids and socket choice, read from a buffer refilled
 * 4 KiB at a time (node:crypto randomInt per query costs more than forwarding the query).
 */
import { randomFillSync } from 'node:crypto';

/** Returns `(limit) => integer in [0, limit)` for limits up to 2^32 (unbiased for powers of two). */
export function pooledRandomInt(): (limit: number) => number {
  const pool = Buffer.alloc(4096);
  let offset = pool.length;
  return (limit) => {
    if (offset + 4 > pool.length) {
      randomFillSync(pool);
      offset = 0;
    }
    const value = pool.readUInt32BE(offset);
    offset += 4;
    return value % limit;
  };
}
