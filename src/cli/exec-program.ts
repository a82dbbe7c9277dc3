/**
 * `client-agent connect -exec PROGRAM -- ARGS`: the program runs once the session listens, with
 * `{{boundary.addr}}`, `{{boundary.ip}}` and `{{boundary.port}}` in its arguments replaced by the
 * listener's address (spaces inside the braces allowed, as Boundary allows them) and the same
 * values in BOUNDARY_PROXIED_ADDR / _IP / _PORT. Its exit status becomes the command's.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { AgentError, hostPort } from '../lib/index.js';
import type { CliIo } from './io.js';

export interface ListenAddress {
  readonly ip: string;
  readonly port: number;
}

/** `127.0.0.1:7777`, `[::1]:7777`. */
export function addrOf(at: ListenAddress): string {
  return hostPort(at.ip, at.port);
}

const TEMPLATE = /\{\{\s*boundary\.(addr|ip|port)\s*\}\}/g;

/** One argument with every `{{boundary.…}}` filled in. */
export function fillTemplate(arg: string, at: ListenAddress): string {
  return arg.replace(TEMPLATE, (_m, key: string) =>
    key === 'addr' ? addrOf(at) : key === 'ip' ? at.ip : String(at.port),
  );
}

export interface RunningProgram {
  /** The exit status: the program's own, or 128 + the signal number that ended it. */
  readonly done: Promise<number>;
  /** Passes a signal on (Ctrl-C, SIGTERM to this command). */
  signal(name: NodeJS.Signals): void;
}

/**
 * Starts the program. With the process's own stdio it inherits them (a terminal stays a
 * terminal for ssh or psql); otherwise its output is copied to the command's streams.
 */
export function runProgram(
  io: CliIo,
  program: string,
  args: readonly string[],
  at: ListenAddress,
): RunningProgram {
  const child = spawn(
    program,
    args.map((a) => fillTemplate(a, at)),
    {
      cwd: io.cwd,
      env: {
        ...io.env,
        BOUNDARY_PROXIED_ADDR: addrOf(at),
        BOUNDARY_PROXIED_IP: at.ip,
        BOUNDARY_PROXIED_PORT: String(at.port),
      },
      stdio:
        io.ownStdio === true
          ? 'inherit'
          : [io.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    },
  );
  if (io.ownStdio !== true) {
    if (io.stdin !== undefined && child.stdin !== null) {
      child.stdin.on('error', () => undefined);
      io.stdin.pipe(child.stdin);
    }
    child.stdout?.pipe(io.stdout, { end: false });
    child.stderr?.pipe(io.stderr, { end: false });
  }
  const done = new Promise<number>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        new AgentError(
          'connect.exec',
          `cannot run "${program}": ${err.code === 'ENOENT' ? 'no such program' : (err.code ?? err.message)}`,
          { hint: 'Give -exec a program on your PATH, or its full path.', cause: err },
        ),
      );
    });
    child.once('close', (code, signal) => {
      if (io.ownStdio !== true && child.stdin !== null) io.stdin?.unpipe(child.stdin);
      resolve(code ?? 128 + (signal === null ? 0 : os.constants.signals[signal]));
    });
  });
  return {
    done,
    signal(name) {
      if (child.exitCode === null && child.signalCode === null) child.kill(name);
    },
  };
}
