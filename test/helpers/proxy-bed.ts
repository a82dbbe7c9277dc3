/**
 * The whole proxy path on loopback: stand-in controller, worker and echo target; the alias cache
 * with a real token; the session manager, connection handler and listeners of the agent; the
 * real /proc peer lookup. A ManualClock started at the real time drives expiry.
 */
import net from 'node:net';
import os from 'node:os';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { AliasCache } from '../../src/alias-cache/index.js';
import { ControllerClient } from '../../src/boundary/controller-client.js';
import { WorkerDialer } from '../../src/boundary/worker-dialer.js';
import { StandInController } from '../../src/devserver/controller.js';
import { buildDirectory } from '../../src/devserver/data-file.js';
import type { Directory } from '../../src/devserver/directory.js';
import { EchoTarget } from '../../src/devserver/echo-target.js';
import { SessionStore } from '../../src/devserver/sessions.js';
import { StandInWorker } from '../../src/devserver/worker.js';
import { ManualClock } from '../../src/lib/clock.js';
import type { RateLimit } from '../../src/lib/rate-limiter.js';
import { LinuxPeerCredentials } from '../../src/platform/linux/peer-credentials.js';
import { ControllerAuthorizer } from '../../src/proxy/authorizer.js';
import { ConnectionHandler } from '../../src/proxy/connection-handler.js';
import { ProxyListeners } from '../../src/proxy/listeners.js';
import { SessionManager } from '../../src/proxy/session-manager.js';

export const ALIAS = 'echo.corp';
export const PROXY_IP = '127.77.0.10';
export const UID = os.userInfo().uid;

export interface ProxyBed {
  readonly clock: ManualClock;
  readonly directory: Directory;
  readonly store: SessionStore;
  readonly echo: EchoTarget;
  readonly cache: AliasCache;
  readonly sessions: SessionManager;
  readonly listeners: ProxyListeners;
  readonly logs: string[];
  readonly errors: string[];
  /** Authorizes (as the DNS hook would) and listens; returns the proxy port. */
  prepare(): Promise<number>;
  connect(port: number): Promise<net.Socket>;
  close(): Promise<void>;
}

export async function startProxyBed(
  target: {
    connectionLimit?: number;
    sessionMaxSeconds?: number;
    quiet?: boolean;
    idleTimeoutMs?: number;
    maxConnections?: number;
    authorizationRate?: RateLimit;
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
  const echo = new EchoTarget({ port: 0 });
  await echo.start();
  const directory = buildDirectory(
    {
      users: [
        {
          id: 'u_alice00001',
          login_name: 'alice',
          password: 'pw',
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
  const client = new ControllerClient({ address: controller.address, timeoutMs: 5_000 });
  const cache = new AliasCache({ clientFor: () => client, clock, log, refreshIntervalMs: 60_000 });
  const { token } = await client.authenticate(directory.authMethodId, 'alice', 'pw');
  await cache.addToken(UID, controller.address, token);
  const dialer = new WorkerDialer({ clock, log, connectTimeoutMs: 5_000 });
  const sessions = new SessionManager({
    authorizer: new ControllerAuthorizer({
      tokenFor: (uid) => cache.tokenFor(uid),
      clientFor: () => client,
    }),
    worker: dialer,
    clock,
    log,
    ...(target.authorizationRate === undefined
      ? {}
      : { authorizationRate: target.authorizationRate }),
  });
  const handler = new ConnectionHandler({
    sessions,
    worker: dialer,
    peers: new LinuxPeerCredentials(),
    entitled: (uid, alias) => {
      const entry = cache.snapshot().lookup(alias);
      return entry?.uids.includes(uid) === true ? entry : undefined;
    },
    log,
    onError: (m) => errors.push(m),
    ...(target.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: target.idleTimeoutMs }),
  });
  const listeners = new ProxyListeners({
    handler,
    log,
    ...(target.maxConnections === undefined ? {} : { maxConnections: target.maxConnections }),
  });
  return {
    clock,
    directory,
    store,
    echo,
    cache,
    sessions,
    listeners,
    logs,
    errors,
    async prepare() {
      const entry = cache.snapshot().lookup(ALIAS);
      if (entry === undefined) throw new Error('alias not cached');
      const session = await sessions.acquire(UID, entry, AbortSignal.timeout(5_000));
      await listeners.ensure(PROXY_IP, session.port, ALIAS);
      return session.port;
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
      await listeners.close();
      cache.close();
      await client.close();
      await controller.close();
      await worker.close();
      await echo.close();
      store.close();
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
