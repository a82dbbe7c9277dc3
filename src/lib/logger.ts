/**
 * The logger factory: one pino root logger per process, writing JSON lines to the log file
 * and, when asked, to stdout. Secrets never reach a sink: known secret fields are redacted by
 * path, and Boundary auth tokens are scrubbed from message strings as a second line of defence.
 */
import { pino, type Logger, type DestinationStream } from 'pino';
import { AgentError } from './errors.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  readonly level: LogLevel;
  /** Append JSON lines to this file (its directory is created); null for no file. */
  readonly file: string | null;
  /** Also write to `stdout` (default: the process's stdout). */
  readonly toStdout: boolean;
  readonly stdout?: NodeJS.WritableStream;
}

export interface AgentLogger {
  readonly log: Logger;
  /** Re-opens the log file at its path (after logrotate moved it); used on SIGHUP. */
  reopen(): void;
  /** Writes out everything buffered. */
  flush(): void;
  /** Applies a reloaded level, file and stdout choice to this logger and all its children. */
  configure(options: Omit<LoggerOptions, 'stdout'>): void;
  /** Flushes and closes the file; the logger must not be used afterwards. */
  close(): Promise<void>;
}

/** Field names whose values are secrets wherever they appear (top level and two levels down). */
const SECRET_KEYS = [
  'token',
  'auth_token',
  'authToken',
  'authorization_token',
  'authorizationToken',
  'authorization',
  'password',
  'private_key',
  'privateKey',
  'credentials',
  'credential',
  'secret',
  'cookie',
] as const;

export const REDACT_PATHS: readonly string[] = SECRET_KEYS.flatMap((k) => [
  k,
  `*.${k}`,
  `*.*.${k}`,
]);

export const REDACTED = '[REDACTED]';

/** A Boundary auth token: `at_` + 10 base62 + `_s1` + base58. Only its public id is kept. */
const TOKEN_PATTERN = /\b(at_[0-9A-Za-z]{10})_s1[1-9A-HJ-NP-Za-km-z]+/g;

export function scrubTokens(text: string): string {
  return text.replace(TOKEN_PATTERN, `$1_${REDACTED}`);
}

export function createLogger(options: LoggerOptions): AgentLogger {
  const stdout = options.stdout ?? process.stdout;
  let file = options.file === null ? undefined : openLogFile(options.file);
  let filePath = options.file;
  let toStdout = options.toStdout;
  // One destination whose targets can change at run time (SIGHUP: log_file, log_to_stdout).
  const sink: DestinationStream = {
    write(line: string) {
      file?.write(line);
      if (toStdout) stdout.write(line);
    },
  };
  const children = new Set<WeakRef<Logger>>();
  const log = pino(
    {
      level: options.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: [...REDACT_PATHS], censor: REDACTED },
      onChild: (child) => {
        children.add(new WeakRef(child));
      },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? scrubTokens(a) : a));
          method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
    },
    sink,
  );
  const endFile = (f: ReturnType<typeof pino.destination> | undefined) =>
    new Promise<void>((resolve) => {
      if (f === undefined) {
        resolve();
        return;
      }
      f.once('close', () => {
        resolve();
      });
      f.end();
    });
  return {
    log,
    reopen: () => file?.reopen(),
    flush: () => file?.flushSync(),
    configure(next) {
      log.level = next.level;
      for (const ref of children) {
        const child = ref.deref();
        if (child === undefined) children.delete(ref);
        else child.level = next.level;
      }
      toStdout = next.toStdout;
      if (next.file !== filePath) {
        const previous = file;
        file = next.file === null ? undefined : openLogFile(next.file);
        filePath = next.file;
        void endFile(previous);
      }
    },
    close: () => endFile(file),
  };
}

/**
 * Opens the log file for appending, creating its directory; fails now with a clear message.
 * Writes are synchronous: the agent logs little at info level, and a line written just before
 * a crash is exactly the one worth keeping.
 */
function openLogFile(file: string): ReturnType<typeof pino.destination> {
  try {
    // 0600: the log names users, aliases and sessions (never secrets), for root's eyes only.
    return pino.destination({ dest: file, mkdir: true, sync: true, mode: 0o600 });
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new AgentError('log.unwritable', `cannot write the log file ${file}: ${reason}`, {
      hint: 'Set log_file to a path this user can write, or run the agent as root.',
      cause,
    });
  }
}
