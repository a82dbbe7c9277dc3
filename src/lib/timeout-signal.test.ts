import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { timeoutSignal, withTimeout } from './timeout-signal.js';

describe('timeoutSignal', () => {
  it('aborts with a TimeoutError once the clock has moved by its time, not before', () => {
    const clock = new ManualClock(0);
    const { signal } = timeoutSignal(clock, 1_000);
    clock.advance(999);
    expect(signal.aborted).toBe(false);
    clock.advance(1);
    expect(signal.aborted).toBe(true);
    expect((signal.reason as DOMException).name).toBe('TimeoutError');
  });

  it('never aborts once cancelled, and leaves no timer behind', () => {
    const clock = new ManualClock(0);
    const bound = timeoutSignal(clock, 1_000);
    bound.cancel();
    expect(clock.pending).toBe(0);
    clock.advance(5_000);
    expect(bound.signal.aborted).toBe(false);
  });

  it('withTimeout: the work sees the signal abort at its time, and no timer outlives the work', async () => {
    const clock = new ManualClock(0);
    const done = await withTimeout(clock, 1_000, () => Promise.resolve('quick'));
    expect(done).toBe('quick');
    expect(clock.pending).toBe(0);
    const slow = withTimeout(
      clock,
      1_000,
      (signal) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            reject(signal.reason as Error);
          });
        }),
    );
    clock.advance(1_000);
    await expect(slow).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(clock.pending).toBe(0);
  });
});
