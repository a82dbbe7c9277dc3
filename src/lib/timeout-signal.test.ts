import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { timeoutSignal } from './timeout-signal.js';

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
});
