/** Turns any error into what a user should read: what happened and how to fix it, no stack trace. */
import { CommanderError } from 'commander';
import { AgentError, ConfigError, UsageError } from '../lib/index.js';
import type { CliIo } from './io.js';

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;

export const DEBUG_ENV = 'CLIENT_AGENT_DEBUG';

/** Ends a command with this exit status and nothing printed (e.g. that of a program it ran). */
export class ExitStatus extends Error {
  readonly status: number;

  constructor(status: number) {
    super(`exit status ${status}`);
    this.name = 'ExitStatus';
    this.status = status;
  }
}

export function reportError(err: unknown, io: CliIo): number {
  if (err instanceof ExitStatus) return err.status;
  if (err instanceof CommanderError) {
    // Commander has already printed its message (with any "did you mean").
    return err.code === 'commander.helpDisplayed' || err.code === 'commander.version'
      ? EXIT_OK
      : EXIT_USAGE;
  }
  if (err instanceof AgentError) {
    const lines = err.message.split('\n');
    const head =
      err instanceof ConfigError && lines.length > 1
        ? `the configuration has ${lines.length} problems:\n${lines.map((l) => `  ${l}`).join('\n')}`
        : err.message;
    io.stderr.write(`error: ${head}\n`);
    if (err.hint !== undefined) io.stderr.write(`hint: ${err.hint}\n`);
    if (io.env[DEBUG_ENV] !== undefined && err.cause instanceof Error) {
      io.stderr.write(`cause: ${err.cause.stack ?? err.cause.message}\n`);
    }
    return err instanceof UsageError ? EXIT_USAGE : EXIT_ERROR;
  }
  const message = err instanceof Error ? err.message : String(err);
  io.stderr.write(`error: internal error: ${message}\n`);
  if (io.env[DEBUG_ENV] !== undefined && err instanceof Error && err.stack !== undefined) {
    io.stderr.write(`${err.stack}\n`);
  } else {
    io.stderr.write(
      `hint: this is a bug in client-agent; run again with ${DEBUG_ENV}=1 for details and report it.\n`,
    );
  }
  return EXIT_ERROR;
}
