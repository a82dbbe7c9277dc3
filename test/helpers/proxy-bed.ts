/**
 * The whole proxy path on loopback: stand-in controller, worker and echo target; the alias cache
 * with a real token; the session manager, connection handler and listeners of the agent; the
 * real /proc peer lookup. A ManualClock started at the real time drives expiry. The two halves
 * (`startStandIn`, `startAgentSide`) also run apart, in two processes (bench/proxy).
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { AliasCache } from '../../src/alias-cache/index.js';
import { ControllerClient, WorkerDialer } from '../../src/boundary/index.js';
import {
  StandInController,
  buildDirectory,
  type Directory,
  EchoTarget,
  SessionStore,
  StandInWorker,
} from '../../src/devserver/index.js';
import { ManualClock, type Clock, type RateLimit } from '../../src/lib/index.js';
import { LinuxPeerCredentials, type UserNotifier } from '../../src/platform/index.js';
import {
  ControllerAuthorizer,
  createTransparentProxy,
  type AliasListeners,
  type AliasReadiness,
  type IpAllocator,
  type SessionManager,
} from '../../src/proxy/index.js';

export const ALIAS = 'echo.corp';
export const PROXY_IP = '127.77.0.10';
export const UID = os.userInfo().uid;
const LOGIN = 'alice';
const PASSWORD = 'pw';

export interface ProxyBed {
  readonly clock: ManualClock;
  readonly directory: Directory;
  readonly store: SessionStore;
  readonly echo: EchoTarget;
  readonly cache: AliasCache;
  readonly sessions: SessionManager;
  readonly listeners: AliasListeners;
  /** The controller calls as an OS user (target reads for the DNS preparer). */
  readonly authorizer: ControllerAuthorizer;
  /** The readiness the DNS alias handler calls, over `allocator`'s addresses. */
  readiness(allocator: IpAllocator): AliasReadiness;
  readonly logs: string[];
  readonly errors: string[];
  /** Authorizes (as the DNS hook would) and listens; returns the proxy port. */
  prepare(): Promise<number>;
  connect(port: number): Promise<net.Socket>;
  /**
   * A connection to `port` on the proxy address, not waited for: one the proxy refuses may be
   * reset before the connect callback would run (a local refusal is that quick).
   */
  dial(port: number): net.Socket;
  close(): Promise<void>;
}

export interface StandInOptions {
  readonly connectionLimit?: number;
  readonly sessionMaxSeconds?: number;
  /** Brokered credentials of the target (the stand-in sends them with each authorization). */
  readonly credentials?: { readonly username: string; readonly password: string };
}

/** The Boundary side: stand-in controller and worker, an echo target, one user and one alias. */
export interface StandIn {
  readonly directory: Directory;
  readonly store: SessionStore;
  readonly echo: EchoTarget;
  readonly controllerAddress: string;
  close(): Promise<void>;
}

export async function startStandIn(
  target: StandInOptions,
  clock: Clock,
  log: Logger,
): Promise<StandIn> {
  const echo = new EchoTarget({ port: 0 });
  await echo.start();
  const directory = buildDirectory(
    {
      users: [
        {
          id: 'u_alice00001',
          login_name: LOGIN,
          password: PASSWORD,
          grants: [{ target: 'ttcp_echo000001' }],
        },
      ],
      targets: [
        {
          id: 'ttcp_echo000001',
          address: '127.0.0.1',
          port: echo.address().port,
          connection_limit: target.connectionLimit ?? -1,
          session_max_seconds: target.sessionMaxSeconds ?? 3600,
          ...(target.credentials === undefined ? {} : { credentials: target.credentials }),
        },
      ],
      aliases: [{ value: ALIAS, destination_id: 'ttcp_echo000001' }],
    },
    clock,
  );
  const store = new SessionStore(clock);
  const worker = new StandInWorker({ store, clock, log, port: 0 });
  await worker.start();
  const controller = new StandInController({
    directory,
    sessions: store,
    workerAddress: () => worker.address,
    log,
  });
  await controller.start();
  return {
    directory,
    store,
    echo,
    controllerAddress: controller.address,
    async close() {
      await controller.close();
      await worker.close();
      await echo.close();
      store.close();
    },
  };
}

export interface AgentSideOptions {
  readonly controllerAddress: string;
  readonly authMethodId: string;
  readonly clock: Clock;
  readonly log: Logger;
  readonly idleTimeoutMs?: number;
  readonly maxConnections?: number;
  readonly authorizationRate?: RateLimit;
  readonly onError?: (message: string) => void;
  /** Spare worker connections per session (default on, as in the agent). */
  readonly spareConnections?: boolean;
  readonly spareMaxAgeMs?: number;
  /** Shows the notice of brokered credentials, as the agent wires it; none: no notice. */
  readonly notifier?: UserNotifier;
}

/** The agent's proxy path, with alice's token for the current OS user, against a controller. */
export interface AgentSide {
  readonly cache: AliasCache;
  readonly sessions: SessionManager;
  readonly listeners: AliasListeners;
  /** The controller calls as an OS user (target reads for the DNS preparer). */
  readonly authorizer: ControllerAuthorizer;
  /** The readiness the DNS alias handler calls, over `allocator`'s addresses. */
  readiness(allocator: IpAllocator): AliasReadiness;
  /** Authorizes (as the DNS hook would) and listens; returns the proxy port. */
  prepare(): Promise<number>;
  close(): Promise<void>;
}

export async function startAgentSide(o: AgentSideOptions): Promise<AgentSide> {
  const { clock, log } = o;
  const client = new ControllerClient({ address: o.controllerAddress, timeoutMs: 5_000 });
  const cache = new AliasCache({ clientFor: () => client, clock, log, refreshIntervalMs: 60_000 });
  const { token } = await client.authenticate(o.authMethodId, LOGIN, PASSWORD);
  await cache.addToken(UID, o.controllerAddress, token);
  const dialer = new WorkerDialer({ clock, log, connectTimeoutMs: 5_000 });
  const authorizer = new ControllerAuthorizer({
    tokenFor: (uid) => cache.tokenFor(uid),
    clientFor: () => client,
  });
  const proxy = createTransparentProxy({
    snapshot: () => cache.snapshot(),
    authorizer,
    readTarget: (uid, id, signal) => authorizer.readTarget(uid, id, signal),
    worker: dialer,
    peers: new LinuxPeerCredentials(),
    clock,
    log,
    spareConnections: o.spareConnections,
    // Always on here: the early start is tested with spares off too.
    earlyStart: true,
    spareMaxAgeMs: o.spareMaxAgeMs,
    authorizationRate: o.authorizationRate,
    idleTimeoutMs: o.idleTimeoutMs,
    maxConnections: o.maxConnections,
    notifier: o.notifier,
    onError: o.onError,
  });
  const { sessions, listeners } = proxy;
  return {
    cache,
    sessions,
    listeners,
    authorizer,
    readiness: (allocator) => proxy.readiness(allocator),
    async prepare() {
      const entry = cache.snapshot().lookup(ALIAS);
      if (entry === undefined) throw new Error('alias not cached');
      const session = await sessions.acquire(UID, entry, AbortSignal.timeout(5_000));
      await listeners.ensure(PROXY_IP, session.port, ALIAS);
      return session.port;
    },
    async close() {
      await listeners.close();
      cache.close();
      await client.close();
    },
  };
}

export async function startProxyBed(
  target: StandInOptions & {
    quiet?: boolean;
    idleTimeoutMs?: number;
    maxConnections?: number;
    authorizationRate?: RateLimit;
    spareConnections?: boolean;
    spareMaxAgeMs?: number;
    notifier?: UserNotifier;
  } = {},
): Promise<ProxyBed> {
  const logs: string[] = [];
  const errors: string[] = [];
  const log = pino(
    { level: target.quiet === true ? 'silent' : 'debug' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        logs.push(chunk.toString());
        done();
      },
    }),
  );
  const clock = new ManualClock(Date.now());
  const standIn = await startStandIn(target, clock, log);
  const agent = await startAgentSide({
    controllerAddress: standIn.controllerAddress,
    authMethodId: standIn.directory.authMethodId,
    clock,
    log,
    onError: (m) => errors.push(m),
    ...(target.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: target.idleTimeoutMs }),
    ...(target.maxConnections === undefined ? {} : { maxConnections: target.maxConnections }),
    ...(target.authorizationRate === undefined
      ? {}
      : { authorizationRate: target.authorizationRate }),
    ...(target.spareConnections === undefined ? {} : { spareConnections: target.spareConnections }),
    ...(target.spareMaxAgeMs === undefined ? {} : { spareMaxAgeMs: target.spareMaxAgeMs }),
    ...(target.notifier === undefined ? {} : { notifier: target.notifier }),
  });
  return {
    clock,
    directory: standIn.directory,
    store: standIn.store,
    echo: standIn.echo,
    cache: agent.cache,
    sessions: agent.sessions,
    listeners: agent.listeners,
    authorizer: agent.authorizer,
    readiness: (allocator) => agent.readiness(allocator),
    logs,
    errors,
    prepare: () => agent.prepare(),
    dial(port) {
      return net.connect({ host: PROXY_IP, port });
    },
    connect(port) {
      return new Promise((resolve, reject) => {
        const socket = net.connect({ host: PROXY_IP, port }, () => {
          resolve(socket);
        });
        socket.once('error', reject);
      });
    },
    async close() {
      await agent.close();
      await standIn.close();
    },
  };
}

/** Writes `data` and collects the echo until as many bytes came back, then closes. */
export function echoThrough(socket: net.Socket, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      received += c.length;
      if (received >= data.length) {
        socket.end();
        resolve(Buffer.concat(chunks));
      }
    });
    socket.once('error', reject);
    socket.once('close', () => {
      reject(new Error(`closed after ${received} of ${data.length} bytes`));
    });
    socket.write(data);
  });
}

/**
 * Connects to `port` on the proxy address as uid 65534 (nobody; needs root) and writes a few
 * bytes: how the connection ended (`ECONNRESET` for a reset, null for a close) and how many
 * bytes came back.
 */
export async function connectAsNobody(
  port: number,
): Promise<{ error: string | null; bytes: number }> {
  const script = `const s = require('net').connect(${port}, '${PROXY_IP}', () => s.write('steal'));
      let n = 0; s.on('data', (c) => n += c.length);
      s.on('error', (e) => { console.log(JSON.stringify({ error: e.code, bytes: n })); process.exit(0); });
      s.on('close', () => { console.log(JSON.stringify({ error: null, bytes: n })); process.exit(0); });`;
  const child = spawn(process.execPath, ['-e', script], {
    uid: 65534,
    gid: 65534,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise((resolve) => child.once('exit', resolve));
  return JSON.parse(out) as { error: string | null; bytes: number };
}
