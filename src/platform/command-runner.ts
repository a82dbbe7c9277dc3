/**
 * The one way the agent runs operating system commands: `execFile` without a shell, bounded by a
 * timeout and an AbortSignal. A command that cannot start or exits non-zero is a PlatformError
 * naming the command, its exit status and its stderr.
 */
import { execFile } from 'node:child_process';
import { formatCommand, PlatformError } from './errors.js';

export interface RunOptions {
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs?: number | undefined;
  /** Exit statuses that are not failures (default only 0), e.g. lsof's 1 for "nothing found". */
  readonly okExitCodes?: readonly number[] | undefined;
  /** Runs the command as this user and group (the daemon is root): a desktop notification. */
  readonly uid?: number | undefined;
  readonly gid?: number | undefined;
  /**
   * The command's whole environment besides PATH and LC_ALL=C: set for a command run as another
   * user, so that nothing of the daemon's own environment reaches it. Default: the daemon's.
   */
  readonly env?: Readonly<Record<string, string>> | undefined;
}

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

export interface CommandRunner {
  run(cmd: string, args: readonly string[], options?: RunOptions): Promise<CommandResult>;
}

export const DEFAULT_COMMAND_TIMEOUT_MS = 15_000;

/** The real runner. */
export class ExecFileRunner implements CommandRunner {
  readonly #timeoutMs: number;

  constructor(options: { readonly timeoutMs?: number } = {}) {
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  }

  run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const line = formatCommand(cmd, args);
    return new Promise((resolve, reject) => {
      execFile(
        cmd,
        [...args],
        {
          encoding: 'utf8',
          timeout: options.timeoutMs ?? this.#timeoutMs,
          maxBuffer: 16 * 1024 * 1024,
          ...(options.signal === undefined ? {} : { signal: options.signal }),
          ...(options.uid === undefined ? {} : { uid: options.uid }),
          ...(options.gid === undefined ? {} : { gid: options.gid }),
          env:
            options.env === undefined
              ? { ...process.env, LC_ALL: 'C' }
              : { PATH: process.env.PATH ?? '/usr/bin:/bin', ...options.env, LC_ALL: 'C' },
        },
        (error, stdout, stderr) => {
          if (error === null) {
            resolve({ stdout, stderr, exitCode: 0 });
            return;
          }
          const code = typeof error.code === 'number' ? error.code : null;
          if (code !== null && options.okExitCodes?.includes(code) === true) {
            resolve({ stdout, stderr, exitCode: code });
            return;
          }
          reject(commandFailed(line, code, stderr, error));
        },
      );
    });
  }
}

/** The error for a command that failed, in the one shape every runner (real or fake) uses. */
export function commandFailed(
  line: string,
  exitCode: number | null,
  stderr: string,
  cause?: unknown,
): PlatformError {
  const detail = stderr.trim().split('\n').slice(-3).join(' / ');
  const how =
    exitCode === null
      ? cause instanceof Error && 'code' in cause && cause.code === 'ENOENT'
        ? 'could not start (not installed?)'
        : 'did not finish (killed or timed out)'
      : `exited with status ${exitCode}`;
  return new PlatformError(
    'platform.command_failed',
    `"${line}" ${how}${detail === '' ? '' : `: ${detail}`}`,
    {
      command: line,
      exitCode,
      cause,
      hint: 'The agent must run as root (or with CAP_NET_ADMIN); run the command by hand to see why it fails.',
    },
  );
}

/**
 * Runs every command behind a fixed prefix: `prefixedRunner(r, ['ip', 'netns', 'exec', 'ns1'])`
 * runs the platform's commands inside a network namespace (tests do).
 */
export function prefixedRunner(inner: CommandRunner, prefix: readonly string[]): CommandRunner {
  const [head, ...rest] = prefix;
  if (head === undefined) return inner;
  return {
    run: (cmd, args, options) => inner.run(head, [...rest, cmd, ...args], options),
  };
}
