import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../lib/index.js';
import { RunControl, SELF_PAUSE_REASON } from './run-control.js';

const log = pino({ level: 'silent' });
let dir: string;
let calls: string[];

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ca-run-control-'));
  calls = [];
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function control(clock = new ManualClock()): RunControl {
  return new RunControl({
    file: path.join(dir, 'operational.json'),
    clock,
    log,
    selfPause: { limit: 3, windowMs: 10_000 },
    onPause: () => {
      calls.push('pause');
      return Promise.resolve();
    },
    onResume: () => {
      calls.push('resume');
      return Promise.resolve();
    },
  });
}

async function settle(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

describe('RunControl', () => {
  it('starts running when no state file exists', async () => {
    const run = control();
    await run.load();
    expect(run.state).toEqual({ status: 'running' });
    expect(run.paused).toBe(false);
  });

  it('keeps a user pause across restarts, without a status warning', async () => {
    const run = control();
    await run.pause('user');
    expect(calls).toEqual(['pause']);
    expect(run.warning).toBeUndefined();
    const next = control();
    await next.load();
    expect(next.state).toEqual({ status: 'paused', reason: 'user' });
  });

  it('pauses once, and resumes once', async () => {
    const run = control();
    await run.pause('user');
    await run.pause('user');
    await run.resume();
    await run.resume();
    expect(calls).toEqual(['pause', 'resume']);
    const next = control();
    await next.load();
    expect(next.state).toEqual({ status: 'running' });
  });

  it('pauses itself at the limit of failures within the window, and says why', async () => {
    const clock = new ManualClock();
    const run = control(clock);
    run.controllerFailed();
    run.controllerFailed();
    clock.advance(10_000); // the first two fall out of the window
    run.controllerFailed();
    run.controllerFailed();
    await settle();
    expect(run.paused).toBe(false);
    run.controllerFailed();
    await settle();
    expect(run.state).toEqual({ status: 'paused', reason: SELF_PAUSE_REASON });
    expect(run.warning).toBe(SELF_PAUSE_REASON);
  });

  it('forgets earlier failures on resume', async () => {
    const run = control();
    for (let i = 0; i < 3; i++) run.controllerFailed();
    await settle();
    await run.resume();
    run.controllerFailed();
    run.controllerFailed();
    await settle();
    expect(run.paused).toBe(false);
  });
});
