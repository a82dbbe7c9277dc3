import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readJson, writeJson } from './state-files.js';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ca-state-files-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('writeJson', () => {
  it('writes a file only its owner can read, whatever was there before', async () => {
    const file = path.join(dir, 'nested', 'state.json');
    await writeJson(file, { status: 'running' });
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect(await readJson(file)).toEqual({ status: 'running' });
    // A world-readable file and a stale temporary file from a crash do not pass their mode on.
    await fs.chmod(file, 0o644);
    const stale = `${file}.${process.pid}.tmp`;
    await fs.writeFile(stale, 'left by a crash', { mode: 0o666 });
    await fs.chmod(stale, 0o666);
    await writeJson(file, { status: 'paused' });
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect(await readJson(file)).toEqual({ status: 'paused' });
    await expect(fs.stat(stale)).rejects.toThrow();
  });
});
