import { describe, expect, it } from 'vitest';
import { ManualClock } from '../lib/index.js';
import { step } from './abortable-step.js';

describe('step', () => {
  const setup = () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const calls = { disposed: 0, unwired: 0 };
    let settle: { resolve: (v: string) => void; reject: (e: unknown) => void } | undefined;
    const promise = step<string>(
      { clock, signal: controller.signal, timeoutMs: 1_000 },
      () => new Error('too slow'),
      () => calls.disposed++,
      (resolve, reject) => {
        settle = { resolve, reject };
        return () => {
          calls.unwired++;
        };
      },
    );
    return { clock, controller, calls, promise, settle: () => settle };
  };

  it('resolves, unwires, cancels its timer and does not dispose', async () => {
    const t = setup();
    t.settle()?.resolve('done');
    t.settle()?.reject(new Error('late'));
    expect(await t.promise).toBe('done');
    expect(t.calls).toEqual({ disposed: 0, unwired: 1 });
    expect(t.clock.pending).toBe(0);
  });

  it('fails with the timeout error when the clock passes the deadline, and disposes', async () => {
    const t = setup();
    t.clock.advance(999);
    t.clock.advance(1);
    await expect(t.promise).rejects.toThrow('too slow');
    expect(t.calls).toEqual({ disposed: 1, unwired: 1 });
  });

  it('fails with the abort reason when the signal aborts', async () => {
    const t = setup();
    t.controller.abort();
    await expect(t.promise).rejects.toMatchObject({ name: 'AbortError' });
    expect(t.calls).toEqual({ disposed: 1, unwired: 1 });
    expect(t.clock.pending).toBe(0);
  });

  it('does not start when the signal is already aborted', async () => {
    let ran = false;
    const p = step(
      { clock: new ManualClock(), signal: AbortSignal.abort(), timeoutMs: 1 },
      () => new Error('x'),
      () => undefined,
      () => {
        ran = true;
        return () => undefined;
      },
    );
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(ran).toBe(false);
  });

  it('wraps a non-Error rejection', async () => {
    const t = setup();
    t.settle()?.reject('plain text');
    await expect(t.promise).rejects.toThrow('plain text');
  });
});
