/**
 * What `client-agent connect` and `sessions read|cancel` run against: `client-agent dev` in
 * process (stand-in controller, worker and echo targets; the agent with its control API and a
 * token for this OS user), all on loopback ports picked by the OS, driven by one ManualClock. The
 * commands run in-process with their own signal emitter; `until` waits for their output.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ControllerClient } from '../../src/boundary/index.js';
import { run } from '../../src/cli/index.js';
import { startDev, type DevRun } from '../../src/daemon/index.js';
import type { DevserverData } from '../../src/devserver/index.js';
import { ManualClock } from '../../src/lib/index.js';
import { captureIo, type CapturedIo } from './cli-io.js';
import { freePort } from './free-port.js';
import { silentLog } from './standin.js';

export const ECHO = { id: 'ttcp_echo000001', alias: 'echo.test' } as const;
/** One connection per session, sessions of 60 s. */
export const LIMITED = { id: 'ttcp_limit00001', alias: 'limited.test' } as const;
/** Visible to the user (an alias resolves) but without the authorize-session grant. */
export const READ_ONLY = { id: 'ttcp_ronly00001', alias: 'readonly.test' } as const;

export interface ConnectBed {
  readonly clock: ManualClock;
  readonly dev: DevRun;
  /** The echo target's default client port: free when the bed started. */
  readonly echoClientPort: number;
  /** Runs a command in-process; resolves with its exit status and output. */
  cli(args: string[], options?: { stdin?: string }): Promise<CommandResult>;
  /** Starts a long-running command (connect): its output so far, its signals, its end. */
  start(args: string[], options?: { stdin?: string }): RunningCommand;
  /** `boundary targets authorize-session` as the demo user, straight at the controller. */
  authorizeAtController(target: string): Promise<{ id: string; token: string; json: string }>;
  close(): Promise<void>;
}

export interface CommandResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

export interface RunningCommand {
  readonly io: CapturedIo;
  readonly signals: EventEmitter;
  readonly done: Promise<CommandResult>;
  /** Waits (bounded) until stdout matches; returns the match. */
  until(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

export async function startConnectBed(): Promise<ConnectBed> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'client-agent-connect-'));
  const echoClientPort = await freePort();
  const data: DevserverData = {
    users: [
      {
        id: 'u_1234567890',
        login_name: 'admin',
        password: 'password',
        grants: [
          { target: ECHO.id, actions: ['authorize-session'] },
          { target: LIMITED.id, actions: ['authorize-session'] },
          { target: READ_ONLY.id, actions: ['read'] },
        ],
      },
    ],
    targets: [
      {
        id: ECHO.id,
        address: '127.0.0.1',
        port: 0,
        demo: 'echo',
        default_client_port: echoClientPort,
        session_max_seconds: 3600,
      },
      {
        id: LIMITED.id,
        address: '127.0.0.1',
        port: 0,
        demo: 'echo',
        connection_limit: 1,
        session_max_seconds: 60,
      },
      { id: READ_ONLY.id, address: '127.0.0.1', port: 0, demo: 'echo' },
    ],
    aliases: [ECHO, LIMITED, READ_ONLY].map((t) => ({ value: t.alias, destination_id: t.id })),
  };
  const dataFile = path.join(dir, 'data.json');
  await fs.writeFile(dataFile, JSON.stringify(data));
  const clock = new ManualClock(Date.now());
  const dev = await startDev({
    dataFile,
    controllerPort: 0,
    workerPort: 0,
    dnsPort: 0,
    controlPort: 0,
    upstreams: [{ address: '127.0.0.1', port: 9, family: 4 }],
    logLevel: 'error',
    stateDir: dir,
    clock,
    log: silentLog,
    version: '0.0.0-test',
  });
  const env = { BOUNDARY_CLIENT_AGENT_LISTENING_PORT: String(dev.control.port) };
  const start = (args: string[], options: { stdin?: string } = {}): RunningCommand => {
    const signals = new EventEmitter();
    const io = captureIo({
      env,
      clock,
      signals,
      ...(options.stdin === undefined ? {} : { stdin: Readable.from([options.stdin]) }),
    });
    const done = run(args, io).then((code) => ({ code, out: io.out(), err: io.err() }));
    return {
      io,
      signals,
      done,
      until: (pattern, timeoutMs = 10_000) => until(io, done, pattern, timeoutMs),
    };
  };
  return {
    clock,
    dev,
    echoClientPort,
    start,
    cli: (args, options) => start(args, options).done,
    async authorizeAtController(target) {
      const client = new ControllerClient({ address: dev.devserver.controller.address });
      try {
        const { token } = await client.authenticate(
          dev.devserver.directory.authMethodId,
          'admin',
          'password',
        );
        const auth = await client.authorizeSession(token, target);
        return {
          id: auth.session_id,
          token: auth.authorization_token,
          json: JSON.stringify({ status_code: 200, item: auth }),
        };
      } finally {
        await client.close();
      }
    },
    async close() {
      await dev.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

async function until(
  io: CapturedIo,
  done: Promise<CommandResult>,
  pattern: RegExp,
  timeoutMs: number,
): Promise<RegExpMatchArray> {
  let ended: CommandResult | undefined;
  void done.then((r) => (ended = r));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(io.out());
    if (match !== null) return match;
    if (ended !== undefined || Date.now() > deadline) {
      throw new Error(
        `no ${String(pattern)} in the output${ended === undefined ? ` within ${timeoutMs} ms` : ` (exit ${ended.code})`}:\n${io.out()}\n${io.err()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Connects to the command's listener, sends `text`, and resolves with what came back. */
export function echo(port: number, text: string, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port }, () => socket.write(text));
    let got = '';
    socket.on('data', (c: Buffer) => {
      got += c.toString();
      if (got.length >= text.length) {
        socket.end();
        resolve(got);
      }
    });
    socket.once('error', reject);
    socket.once('close', () => {
      if (got.length < text.length) reject(new Error(`closed after "${got}"`));
    });
  });
}
