import { describe, expect, it } from 'vitest';
import { loadUdpBatch } from './udp-batch-addon.js';

describe('loadUdpBatch', () => {
  const loaded = loadUdpBatch();

  it('is unavailable off Linux, saying so, and its absence there is expected', () => {
    expect(loadUdpBatch('darwin')).toEqual({ unavailable: 'not built on darwin', expected: false });
  });

  // Where the addon must be built (CI on Linux), or where it was.
  it.skipIf(process.platform !== 'linux' || ('unavailable' in loaded && process.env.CI !== 'true'))(
    'loads the built addon on Linux, with its slot layout',
    () => {
      if ('unavailable' in loaded) throw new Error(loaded.unavailable);
      expect(typeof loaded.open).toBe('function');
      expect(loaded.SLOTS).toBeGreaterThan(0);
      expect(loaded.SLOT_BYTES).toBeGreaterThanOrEqual(512);
      expect(loaded.META_BYTES).toBeGreaterThanOrEqual(32);
    },
  );
});
