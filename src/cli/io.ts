/** What a command may touch of its process: streams, environment and working directory. */
import type { EventEmitter } from 'node:events';
import { systemClock, type Clock } from '../lib/index.js';

export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly platform: string;
  /** Where tokens and passwords are read from; absent: nothing to read (as in most tests). */
  readonly stdin?: CliInput | undefined;
  /** Time and timers (default: the system clock): "expires in 6h", the end of a session. */
  readonly clock?: Clock | undefined;
  /** Where SIGINT and SIGTERM arrive (the process); absent: a command is not told. */
  readonly signals?: Pick<EventEmitter, 'on' | 'off'> | undefined;
  /**
   * True when stdin, stdout and stderr are the process's own (a terminal): a program that a
   * command runs then gets them as they are; otherwise its output is copied to them.
   */
  readonly ownStdio?: boolean | undefined;
}

export function clockOf(io: CliIo): Clock {
  return io.clock ?? systemClock;
}

/** A readable stream that may be a terminal (process.stdin). */
export type CliInput = NodeJS.ReadableStream & {
  readonly isTTY?: boolean | undefined;
  setRawMode?: ((mode: boolean) => unknown) | undefined;
};

export type OutputFormat = 'table' | 'json';

export interface FormatOptions {
  readonly format?: string;
  readonly json?: boolean;
}

export function outputFormat(options: FormatOptions): OutputFormat {
  return options.json === true || options.format === 'json' ? 'json' : 'table';
}

export function writeJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
