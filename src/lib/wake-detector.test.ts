import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { WakeDetector } from './wake-detector.js';

function detector(clock: ManualClock): { gaps: number[]; wake: WakeDetector } {
  const gaps: number[] = [];
  const wake = new WakeDetector({ clock, onWake: (gap) => gaps.push(gap) });
  wake.start();
  return { gaps, wake };
}

describe('WakeDetector', () => {
  it('stays quiet while time runs normally', () => {
    const clock = new ManualClock();
    const { gaps, wake } = detector(clock);
    clock.advance(10 * 60_000);
    expect(gaps).toEqual([]);
    wake.close();
    expect(clock.pending).toBe(0);
  });

  it('reports a wall-clock jump (a resume from suspend) once, at the next tick', () => {
    const clock = new ManualClock();
    const { gaps, wake } = detector(clock);
    clock.advance(2_000);
    clock.jumpWall(3_600_000);
    clock.advance(3_000);
    expect(gaps).toEqual([3_600_000]);
    clock.advance(60_000);
    expect(gaps).toHaveLength(1);
    wake.close();
  });

  it('reports a wall clock set back, and ignores a small step', () => {
    const clock = new ManualClock();
    const { gaps, wake } = detector(clock);
    clock.jumpWall(20_000);
    clock.advance(5_000);
    expect(gaps).toEqual([]);
    clock.jumpWall(-120_000);
    clock.advance(5_000);
    expect(gaps).toEqual([120_000]);
    wake.close();
  });
});
