import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';

describe('ManualClock', () => {
  it('fires timers in due order while advancing, with now() at each due time', () => {
    const clock = new ManualClock(1000);
    const fired: [string, number][] = [];
    clock.setTimeout(() => fired.push(['b', clock.now()]), 200);
    clock.setTimeout(() => fired.push(['a', clock.now()]), 100);
    clock.setTimeout(() => fired.push(['c', clock.now()]), 500);
    clock.advance(300);
    expect(fired).toEqual([
      ['a', 1100],
      ['b', 1200],
    ]);
    expect(clock.now()).toBe(1300);
    expect(clock.pending).toBe(1);
  });

  it('does not fire cancelled timers, and fires timers set by timers', () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    const t = clock.setTimeout(() => fired.push('cancelled'), 10);
    clock.setTimeout(() => {
      fired.push('first');
      clock.setTimeout(() => fired.push('second'), 10);
    }, 10);
    t.cancel();
    clock.advance(25);
    expect(fired).toEqual(['first', 'second']);
    expect(clock.pending).toBe(0);
  });
});
