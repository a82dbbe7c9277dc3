/** Errors from the operating system layer: a command that failed, a machine we cannot change safely. */
import { AgentError, type AgentErrorOptions, type ErrorCode } from '../lib/index.js';

export interface PlatformErrorOptions extends AgentErrorOptions {
  /** The command line that failed, as run (no shell quoting); absent for non-command failures. */
  readonly command?: string | undefined;
  /** Its exit status; null when it did not exit normally (signal, timeout, not found). */
  readonly exitCode?: number | null | undefined;
}

export type PlatformErrorCode = Extract<ErrorCode, `platform.${string}`>;

export class PlatformError extends AgentError {
  readonly command: string | undefined;
  readonly exitCode: number | null | undefined;

  constructor(code: PlatformErrorCode, message: string, options: PlatformErrorOptions = {}) {
    super(code, message, options);
    this.command = options.command;
    this.exitCode = options.exitCode;
  }
}

/** `cmd a b` for messages; arguments with spaces are quoted so the line can be re-run by hand. */
export function formatCommand(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./~-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}
