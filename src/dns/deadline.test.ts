import { describe, expect, it } from 'vitest';
import { ManualClock } from '../lib/index.js';
import { SharedDeadlines } from './deadline.js';

const reason = () => new Error('too late');

describe('SharedDeadlines', () => {
  it('gives every query at least its time, at most a tenth more, sharing signals within a tenth', () => {
    const clock = new ManualClock(0);
    const deadlines = new SharedDeadlines(clock);
    const a = deadlines.signal(1_000, reason);
    clock.advance(99);
    expect(deadlines.signal(1_000, reason)).toBe(a);
    clock.advance(1);
    const b = deadlines.signal(1_000, reason);
    expect(b).not.toBe(a);
    clock.advance(999);
    expect(a.aborted).toBe(false);
    clock.advance(1);
    expect(a.aborted).toBe(true);
    expect(b.aborted).toBe(false);
    clock.advance(100);
    expect(b.aborted).toBe(true);
    expect((b.reason as Error).message).toBe('too late');
  });

  it('measures by elapsed time: after the wall clock is set back, a query does not join an older signal', () => {
    const clock = new ManualClock(0);
    const deadlines = new SharedDeadlines(clock);
    const old = deadlines.signal(1_000, reason);
    clock.jumpWall(-3_600_000);
    clock.advance(500);
    const fresh = deadlines.signal(1_000, reason);
    expect(fresh).not.toBe(old);
    clock.advance(600);
    expect(old.aborted).toBe(true);
    expect(fresh.aborted).toBe(false);
  });

  it('close aborts every live signal and leaves no timer', () => {
    const clock = new ManualClock(0);
    const deadlines = new SharedDeadlines(clock);
    const a = deadlines.signal(1_000, reason);
    const b = deadlines.signal(5_000, reason);
    deadlines.close(new Error('closed'));
    expect([a.aborted, b.aborted]).toEqual([true, true]);
    expect(clock.pending).toBe(0);
  });
});
