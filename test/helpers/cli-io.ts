import { PassThrough } from 'node:stream';
import type { CliIo } from '../../src/cli/index.js';

export interface CapturedIo extends CliIo {
  out(): string;
  err(): string;
}

/** A CliIo whose output is kept in memory, for running commands in-process. */
export function captureIo(overrides: Partial<CliIo> = {}): CapturedIo {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (c: Buffer) => out.push(c.toString()));
  stderr.on('data', (c: Buffer) => err.push(c.toString()));
  return {
    stdout,
    stderr,
    env: {},
    cwd: process.cwd(),
    platform: 'linux',
    ...overrides,
    out: () => out.join(''),
    err: () => err.join(''),
  };
}
