/**
 * The stand-in Boundary worker: its proxy listener speaks the real protocol (Boundary's
 * `internal/daemon/worker/worker.go` and `handler.go`).
 * TLS 1.3 where the session is found from SNI (when it starts `s_`) or else from the first ALPN
 * entry starting `s_`, served with the session's own certificate; the client must present that
 * same certificate. Then `GET /v1/proxy` upgrades to the `boundary-tcp-proxy-v1` WebSocket, one
 * per proxied TCP connection (see worker-connection.ts). Sessions live in the shared SessionStore;
 * when one is canceled, expires or runs out of connections, its WebSockets are closed.
 */
import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { Logger } from 'pino';
import WebSocket, { WebSocketServer } from 'ws';
import {
  ed25519KeyFromGo,
  CLOSE,
  CLOSE_REASON,
  DEFAULT_WORKER_PORT,
  MAX_RECEIVED_MESSAGE_BYTES,
  PROXY_ALPN,
  PROXY_PATH,
  PROXY_SUBPROTOCOL,
} from '../boundary/index.js';
import { type Clock, hostPort } from '../lib/index.js';
import type { SessionRecord, SessionStore } from './sessions.js';
import { serveProxyConnection, type ProxyClient } from './worker-connection.js';

export interface StandInWorkerOptions {
  readonly store: SessionStore;
  readonly clock: Clock;
  readonly log: Logger;
  /** Listen address; loopback by default. */
  readonly host?: string;
  /** Default 9202; 0 picks a free port. */
  readonly port?: number;
  /** How long dialing a session's endpoint may take; default 10 s. */
  readonly dialTimeoutMs?: number;
}

/** Go's crypto/tls server order for TLS 1.3 suites where the CPU has AES instructions. */
const GO_SERVER_TLS13_SUITES = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
].join(':');

export class StandInWorker {
  readonly #store: SessionStore;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #host: string;
  readonly #port: number;
  readonly #dialTimeoutMs: number;
  readonly #tls: tls.Server;
  readonly #http: http.Server;
  readonly #wss: WebSocketServer;
  /** Each session's certificate and key as a TLS context, made on its first connection. */
  readonly #contexts = new WeakMap<SessionRecord, tls.SecureContext>();
  /** The session each TLS connection was selected for (during its handshake). */
  readonly #sessionOf = new WeakMap<Duplex, SessionRecord>();
  /** The session and client of each accepted TLS connection. */
  readonly #accepted = new WeakMap<Duplex, { session: SessionRecord; client: ProxyClient }>();
  /** Every WebSocket of each session, so that a session's end closes them. */
  readonly #live = new Map<string, Set<WebSocket>>();
  readonly #sockets = new Set<Socket>();
  #listening = false;
  #lastAddress: string | undefined;

  constructor(options: StandInWorkerOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#log = options.log.child({ component: 'stand-in-worker' });
    this.#host = options.host ?? '127.0.0.1';
    this.#port = options.port ?? DEFAULT_WORKER_PORT;
    this.#dialTimeoutMs = options.dialTimeoutMs ?? 10_000;
    const select = (socket: tls.TLSSocket, hello: { servername: unknown; protocols: string[] }) =>
      this.#selectSession(socket, hello);
    this.#tls = tls.createServer({
      minVersion: 'TLSv1.3',
      // A Boundary worker is a Go program: on hardware with AES instructions, Go's TLS 1.3
      // server picks AES-128-GCM first (OpenSSL's default order would pick AES-256-GCM).
      ciphers: GO_SERVER_TLS13_SUITES,
      requestCert: true,
      rejectUnauthorized: false,
      ALPNCallback(this: tls.TLSSocket, hello) {
        return select(this, hello);
      },
    });
    this.#tls.on('connection', (socket: Socket) => {
      // No Nagle from the first byte (ws turns it off only after the upgrade).
      socket.setNoDelay(true);
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    this.#tls.on('secureConnection', (socket) => {
      this.#accept(socket);
    });
    this.#tls.on('tlsClientError', (error) => {
      this.#log.debug({ err: error.message }, 'A TLS handshake failed.');
    });
    this.#http = http.createServer((_req, res) => {
      res.writeHead(404, { 'Cache-Control': 'no-store' }).end('not found\n');
    });
    this.#http.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      this.#upgrade(req, socket, head);
    });
    this.#wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: MAX_RECEIVED_MESSAGE_BYTES,
      handleProtocols: (protocols) =>
        protocols.has(PROXY_SUBPROTOCOL) ? PROXY_SUBPROTOCOL : false,
    });
    this.#wss.on('headers', (headers) => headers.push('Cache-Control: no-store'));
  }

  async start(): Promise<void> {
    if (typeof tls.TLSSocket.prototype.setKeyCert !== 'function') {
      throw new Error('the stand-in worker needs Node.js 20.17 or newer (TLSSocket.setKeyCert)');
    }
    this.#store.on('ending', this.#onSessionEnding);
    await new Promise<void>((resolve, reject) => {
      this.#tls.once('error', reject);
      this.#tls.listen(this.#port, this.#host, () => {
        this.#tls.off('error', reject);
        resolve();
      });
    });
    this.#listening = true;
    this.#log.info({ address: this.address }, 'Stand-in worker listening.');
  }

  /** `host:port` as a session authorization names it (`[v6]:port` for IPv6). */
  /** Where it listens; after close, where it listened (as a controller keeps a worker's address while it is down). */
  get address(): string {
    const info = this.#tls.address() as AddressInfo | null;
    if (info === null) {
      if (this.#lastAddress !== undefined) return this.#lastAddress;
      throw new Error('the stand-in worker is not listening');
    }
    this.#lastAddress = hostPort(info.address, info.port);
    return this.#lastAddress;
  }

  async close(): Promise<void> {
    this.#store.off('ending', this.#onSessionEnding);
    for (const set of this.#live.values()) for (const ws of set) ws.terminate();
    this.#live.clear();
    for (const socket of this.#sockets) socket.destroy();
    this.#wss.close();
    if (!this.#listening) return;
    this.#listening = false;
    await new Promise<void>((resolve) =>
      this.#tls.close(() => {
        resolve();
      }),
    );
  }

  #selectSession(
    socket: tls.TLSSocket,
    hello: { servername: unknown; protocols: string[] },
  ): string | undefined {
    const sni = typeof hello.servername === 'string' ? hello.servername : '';
    const id = sni.startsWith('s_') ? sni : hello.protocols.find((p) => p.startsWith('s_'));
    const session = id === undefined ? undefined : this.#store.get(id);
    if (
      session === undefined ||
      session.status === 'canceling' ||
      session.status === 'terminated'
    ) {
      this.#log.info(
        { session: id, status: session?.status },
        'Refused TLS: no such live session.',
      );
      return undefined;
    }
    if (!hello.protocols.includes(PROXY_ALPN)) return undefined;
    try {
      socket.setKeyCert(this.#contextOf(session));
    } catch (error) {
      const err = error instanceof Error ? error.message : String(error);
      this.#log.warn(
        { session: session.id, err },
        'Refused TLS: the session credentials are unusable.',
      );
      return undefined;
    }
    this.#sessionOf.set(socket, session);
    return PROXY_ALPN;
  }

  #contextOf(session: SessionRecord): tls.SecureContext {
    let context = this.#contexts.get(session);
    if (context === undefined) {
      const key = ed25519KeyFromGo(session.privateKey).export({ format: 'pem', type: 'pkcs8' });
      context = tls.createSecureContext({
        cert: new X509Certificate(session.certificate).toString(),
        key,
      });
      this.#contexts.set(session, context);
    }
    return context;
  }

  #accept(socket: tls.TLSSocket): void {
    const session = this.#sessionOf.get(socket);
    const peer = socket.getPeerX509Certificate();
    if (session === undefined || !peer?.raw.equals(session.certificate)) {
      this.#log.info(
        { session: session?.id, client: socket.remoteAddress },
        'Refused a client without the session certificate.',
      );
      socket.destroy();
      return;
    }
    this.#accepted.set(socket, {
      session,
      client: { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
    });
    this.#http.emit('connection', socket);
  }

  #upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const accepted = this.#accepted.get(socket);
    const path = new URL(req.url ?? '/', 'http://worker').pathname;
    if (accepted === undefined || path !== PROXY_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nCache-Control: no-store\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const { session, client } = accepted;
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', (error) => {
        this.#log.debug({ session: session.id, err: error.message }, 'Proxy WebSocket error.');
      });
      if (ws.protocol !== PROXY_SUBPROTOCOL) {
        ws.close(CLOSE.protocolError, CLOSE_REASON.unsupportedProtocol);
        return;
      }
      this.#track(session.id, ws);
      serveProxyConnection(ws, session, client, {
        store: this.#store,
        clock: this.#clock,
        log: this.#log,
        dialTimeoutMs: this.#dialTimeoutMs,
        trackTarget: (target) => {
          this.#sockets.add(target);
          target.once('close', () => this.#sockets.delete(target));
        },
      });
    });
  }

  #track(sessionId: string, ws: WebSocket): void {
    let set = this.#live.get(sessionId);
    if (set === undefined) {
      set = new Set();
      this.#live.set(sessionId, set);
    }
    set.add(ws);
    ws.once('close', () => {
      set.delete(ws);
      if (set.size === 0 && this.#live.get(sessionId) === set) this.#live.delete(sessionId);
    });
  }

  readonly #onSessionEnding = (session: SessionRecord): void => {
    const set = this.#live.get(session.id);
    if (set === undefined) return;
    const reason =
      session.terminationReason === 'timed out'
        ? 'session expired'
        : session.terminationReason === 'canceled'
          ? 'session canceled'
          : 'session ended';
    this.#log.info(
      { session: session.id, connections: set.size, reason },
      'Closing the session’s connections.',
    );
    for (const ws of set) {
      if (ws.readyState === WebSocket.OPEN) ws.close(CLOSE.normal, reason);
    }
  };
}
