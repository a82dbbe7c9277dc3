import { describe, expect, it } from 'vitest';
import { ManualClock } from '../lib/index.js';
import { FailureWindow } from './failure-window.js';

describe('FailureWindow', () => {
  it('is full at the limit within the window, and failures older than the window age out', () => {
    const clock = new ManualClock();
    const window = new FailureWindow({ clock, limit: 3, windowMs: 60_000 });
    expect(window.record()).toBe(false);
    expect(window.record()).toBe(false);
    clock.advance(60_000);
    expect(window.record()).toBe(false);
    expect(window.record()).toBe(false);
    expect(window.record()).toBe(true);
    window.reset();
    expect(window.record()).toBe(false);
  });

  it('counts on the monotonic clock: a wall-clock jump neither ages failures out nor keeps them', () => {
    const clock = new ManualClock();
    const window = new FailureWindow({ clock, limit: 2, windowMs: 60_000 });
    window.record();
    clock.jumpWall(3_600_000);
    expect(window.record()).toBe(true);
    window.reset();
    window.record();
    clock.jumpWall(-3_600_000);
    clock.advance(60_000);
    expect(window.record()).toBe(false);
  });
});
