import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { RateLimiter } from './rate-limiter.js';

describe('RateLimiter', () => {
  it('allows a burst, then refills at the rate, per key', () => {
    const clock = new ManualClock(0);
    const limiter = new RateLimiter({ clock, burst: 3, perSecond: 2 });
    expect([1, 2, 3, 4].map(() => limiter.take('a'))).toEqual([true, true, true, false]);
    expect(limiter.take('b')).toBe(true);
    clock.advance(499);
    expect(limiter.take('a')).toBe(false);
    clock.advance(1);
    expect(limiter.take('a')).toBe(true);
    expect(limiter.take('a')).toBe(false);
    clock.advance(60_000);
    expect([1, 2, 3, 4].map(() => limiter.take('a'))).toEqual([true, true, true, false]);
  });

  it('remembers at most maxKeys keys: refilled ones go first, else the oldest', () => {
    const clock = new ManualClock(0);
    const limiter = new RateLimiter({ clock, burst: 1, perSecond: 1, maxKeys: 3 });
    for (const key of ['a', 'b', 'c']) expect(limiter.take(key)).toBe(true);
    // Full and nobody refilled: the oldest ('a') is forgotten.
    expect(limiter.take('d')).toBe(true);
    expect(limiter.size).toBe(3);
    expect(limiter.take('b')).toBe(false);
    expect(limiter.take('a')).toBe(true);
    clock.advance(1_000);
    // Everyone refilled: all are forgotten to make room.
    expect(limiter.take('e')).toBe(true);
    expect(limiter.size).toBe(1);
    for (let i = 0; i < 10_000; i++) limiter.take(`flood-${i}`);
    expect(limiter.size).toBeLessThanOrEqual(3);
  });

  it('refills by elapsed time, whatever the wall clock does', () => {
    const clock = new ManualClock(0);
    const limiter = new RateLimiter({ clock, burst: 2, perSecond: 1 });
    expect(limiter.take('a')).toBe(true);
    // Set back by an hour (NTP): the allowance left stays, and refills as before.
    clock.jumpWall(-3_600_000);
    expect(limiter.take('a')).toBe(true);
    expect(limiter.take('a')).toBe(false);
    clock.advance(1_000);
    expect(limiter.take('a')).toBe(true);
    // Set forward: no free allowance either.
    clock.jumpWall(3_600_000);
    expect(limiter.take('a')).toBe(false);
  });

  it('rejects limits that make no sense', () => {
    const clock = new ManualClock(0);
    expect(() => new RateLimiter({ clock, burst: 0, perSecond: 1 })).toThrow(RangeError);
    expect(() => new RateLimiter({ clock, burst: 1, perSecond: 0 })).toThrow(RangeError);
  });
});
