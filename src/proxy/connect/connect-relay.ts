/**
 * One session's own local listener, as `client-agent connect` (and `boundary connect`) runs it:
 * every accepted connection gets its own worker connection with the session's tofu token and is
 * relayed. It ends when the session expires, when the worker says no connections are left (the
 * listener closes at once, live connections finish), when the worker refuses the session, or on
 * stop(). Whoever may reach the listen address may use the session, as with `boundary connect`.
 *
 *   const relay = new ConnectRelay({ host: '127.0.0.1', worker, clock, log });
 *   const { port } = await relay.start(15432, { orFreePort: true });
 *   const end = await relay.run({ data, tofu });   // { reason: 'expired' | … }
 *   await relay.close();
 */
import net from 'node:net';
import type { Logger } from 'pino';
import {
  type SessionAuthorizationData,
  endsSession,
  type WorkerError,
} from '../../boundary/index.js';
import { type Clock, type TimerHandle, timeoutSignal } from '../../lib/index.js';
import { relay } from '../relay.js';
import { listenTcp, portInUse } from '../tcp-listen.js';
import type { WorkerConnector } from '../types.js';

export interface ConnectRelayOptions {
  /** The listen address (an IP). */
  readonly host: string;
  readonly worker: WorkerConnector;
  readonly clock: Clock;
  readonly log: Logger;
  /** Bound on opening one worker connection; default 30 s. */
  readonly setupTimeoutMs?: number;
  /** After each worker handshake: the connections left on the session (-1: unlimited). */
  readonly onConnection?: (connectionsLeft: number) => void;
  /** A connection failed while the session goes on (target down, worker unreachable). */
  readonly onConnectionError?: (error: Error) => void;
}

export type ConnectRelayEnd =
  | { readonly reason: 'expired' | 'exhausted' | 'stopped' }
  | { readonly reason: 'refused'; readonly error: WorkerError };

export interface RelayedSession {
  readonly data: SessionAuthorizationData;
  readonly tofu: string;
}

export class ConnectRelay {
  readonly #o: ConnectRelayOptions;
  readonly #log: Logger;
  readonly #sockets = new Set<net.Socket>();
  /** Connections accepted before run(): served once the session is known. */
  readonly #waiting: net.Socket[] = [];
  #server: net.Server | undefined;
  #closing: Promise<void> | undefined;
  #session: RelayedSession | undefined;
  #expiry: TimerHandle | undefined;
  #end: ConnectRelayEnd | undefined;
  #resolve: ((end: ConnectRelayEnd) => void) | undefined;

  constructor(options: ConnectRelayOptions) {
    this.#o = options;
    this.#log = options.log.child({ component: 'connect-relay' });
  }

  /**
   * Listens on `port` (0: any free port); with `orFreePort`, a taken port falls back to a free
   * one. Resolves with the address listened on.
   */
  async start(port: number, options: { orFreePort?: boolean } = {}): Promise<net.AddressInfo> {
    if (this.#server !== undefined) throw new Error('the connect relay is already started');
    const inUseHint = 'Choose another -listen-port, or leave it out to use a free port.';
    let server = this.#createServer();
    try {
      await listenTcp(server, { host: this.#o.host, port, what: 'the session', inUseHint });
    } catch (err) {
      if (!(options.orFreePort === true && port !== 0 && portInUse(err))) throw err;
      this.#log.info({ port }, 'The default port is in use; listening on a free port.');
      server = this.#createServer();
      await listenTcp(server, { host: this.#o.host, port: 0, what: 'the session', inUseHint });
    }
    this.#server = server;
    return server.address() as net.AddressInfo;
  }

  /** Serves the session until it ends; resolves once every connection is closed. */
  run(session: RelayedSession): Promise<ConnectRelayEnd> {
    if (this.#session !== undefined) throw new Error('the connect relay already runs a session');
    this.#session = session;
    const done = new Promise<ConnectRelayEnd>((resolve) => {
      this.#resolve = resolve;
    });
    const expiresAt = session.data.expiration?.getTime() ?? this.#o.clock.now();
    this.#expiry = this.#o.clock.setTimeout(() => {
      this.#finish({ reason: 'expired' });
    }, expiresAt - this.#o.clock.now());
    for (const socket of this.#waiting.splice(0)) this.#serve(socket, session);
    return done;
  }

  /** Ends the session's relaying now (Ctrl-C): the listener and every connection close. */
  stop(): void {
    this.#finish({ reason: 'stopped' });
  }

  /** Stops everything (also before run, or after a failed start). */
  async close(): Promise<void> {
    this.#finish({ reason: 'stopped' });
    for (const socket of [...this.#sockets, ...this.#waiting.splice(0)]) socket.destroy();
    await this.#closeListener();
  }

  #createServer(): net.Server {
    return net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (socket) => {
      socket.on('error', () => undefined);
      this.#sockets.add(socket);
      socket.once('close', () => {
        this.#sockets.delete(socket);
        this.#settle();
      });
      if (this.#end !== undefined) socket.destroy();
      else if (this.#session === undefined) this.#waiting.push(socket);
      else this.#serve(socket, this.#session);
    });
  }

  #serve(socket: net.Socket, session: RelayedSession): void {
    this.#handle(socket, session).catch((err: unknown) => {
      this.#log.error({ err: (err as Error).message }, 'A connection failed unexpectedly.');
      socket.resetAndDestroy();
    });
  }

  async #handle(socket: net.Socket, session: RelayedSession): Promise<void> {
    const abort = new AbortController();
    const onClose = () => {
      abort.abort();
    };
    socket.once('close', onClose);
    const setup = timeoutSignal(this.#o.clock, this.#o.setupTimeoutMs ?? 30_000);
    let stream;
    try {
      stream = await this.#o.worker.open(
        session.data,
        session.tofu,
        AbortSignal.any([abort.signal, setup.signal]),
      );
    } catch (err) {
      socket.resetAndDestroy();
      if (endsSession(err)) this.#finish({ reason: 'refused', error: err });
      else if (!abort.signal.aborted) this.#o.onConnectionError?.(err as Error);
      return;
    } finally {
      setup.cancel();
      socket.off('close', onClose);
    }
    if (socket.destroyed || this.#end !== undefined) {
      stream.destroy();
      socket.destroy();
      return;
    }
    const left = stream.handshake.connectionsLeft;
    this.#o.onConnection?.(left);
    // The last connection: no new ones; the session ends when the live ones finish.
    if (left === 0) this.#finish({ reason: 'exhausted' });
    const result = await relay(socket, stream, { clock: this.#o.clock });
    this.#log.debug(
      { bytesUp: result.bytesUp, bytesDown: result.bytesDown, err: result.error?.message },
      'A connection ended.',
    );
    if (result.error !== undefined && !endsSession(result.error)) {
      this.#o.onConnectionError?.(result.error);
    }
  }

  /** The first reason wins. Expiry and stop close live connections; the others let them finish. */
  #finish(end: ConnectRelayEnd): void {
    if (this.#end !== undefined) return;
    this.#end = end;
    this.#expiry?.cancel();
    this.#log.info({ reason: end.reason }, 'The connect relay is ending.');
    void this.#closeListener();
    if (end.reason === 'expired' || end.reason === 'stopped') {
      for (const socket of this.#sockets) socket.destroy();
    }
    this.#settle();
  }

  #settle(): void {
    if (this.#end === undefined || this.#sockets.size > 0 || this.#resolve === undefined) return;
    const resolve = this.#resolve;
    this.#resolve = undefined;
    resolve(this.#end);
  }

  #closeListener(): Promise<void> {
    const server = this.#server;
    if (server !== undefined) {
      this.#server = undefined;
      this.#closing = new Promise((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    }
    return this.#closing ?? Promise.resolve();
  }
}
