/**
 * The control API: plain HTTP on loopback (127.0.0.1 and ::1), the routes the Boundary CLI's
 * `client-agent` commands and Boundary Desktop use, plus ours. Every caller is identified by the
 * OS uid owning the other end of its TCP connection; a connection that maps to no local uid is
 * refused. Errors are the controller's error JSON with the matching status.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import { ApiError, forbidden, notFound } from '../lib/index.js';
import type { PeerCredentials } from '../platform/index.js';
import type { AgentControl } from './agent-api.js';
import { toApiError } from './error-answer.js';
import { checkOrigin } from './request-guard.js';
import { ROUTES } from './routes.js';

export interface ControlServerTimeouts {
  /** Time to receive the request headers. */
  readonly headersMs: number;
  /** Time to receive the whole request. */
  readonly requestMs: number;
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveMs: number;
}

export interface ControlServerOptions {
  readonly agent: AgentControl;
  readonly peers: Pick<PeerCredentials, 'uidOf'>;
  /** 0: any free port (tests); the same port is used on every host. */
  readonly port: number;
  /** Default 127.0.0.1 and ::1; ::1 is skipped quietly when IPv6 is unavailable. */
  readonly hosts?: readonly string[];
  readonly log: Logger;
  /** The agent's own uid: like root, it may pause and resume without a token. */
  readonly selfUid?: number | undefined;
  readonly maxConnections?: number;
  readonly timeouts?: Partial<ControlServerTimeouts>;
}

const DEFAULT_TIMEOUTS: ControlServerTimeouts = {
  headersMs: 5_000,
  requestMs: 10_000,
  keepAliveMs: 5_000,
};
const DEFAULT_MAX_CONNECTIONS = 64;
const IPV6_UNAVAILABLE = new Set(['EADDRNOTAVAIL', 'EAFNOSUPPORT']);

export class ControlServer {
  readonly #options: ControlServerOptions;
  readonly #servers: http.Server[] = [];
  readonly #callers = new WeakMap<Socket, Promise<number | undefined>>();
  #port = 0;

  constructor(options: ControlServerOptions) {
    if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
      throw new RangeError(`control API port ${options.port} is not a port number`);
    }
    this.#options = options;
  }

  /** The port listened on (after start). */
  get port(): number {
    return this.#port;
  }

  /** The addresses listened on (after start). */
  get addresses(): readonly AddressInfo[] {
    return this.#servers.map((s) => s.address() as AddressInfo);
  }

  async start(): Promise<void> {
    if (this.#servers.length > 0) throw new Error('the control server is already started');
    const hosts = this.#options.hosts ?? ['127.0.0.1', '::1'];
    let port = this.#options.port;
    try {
      for (const host of hosts) {
        const server = this.#createServer();
        try {
          await listen(server, host, port);
        } catch (err) {
          if (host.includes(':') && IPV6_UNAVAILABLE.has(errorCode(err))) {
            this.#options.log.debug({ host }, 'IPv6 loopback is unavailable; not listening on it.');
            continue;
          }
          throw err;
        }
        this.#servers.push(server);
        port = (server.address() as AddressInfo).port;
        this.#port = port;
      }
    } catch (err) {
      await this.close();
      throw err;
    }
    if (this.#servers.length === 0)
      throw new Error('the control server has no address to listen on');
    this.#options.log.info(
      { addresses: this.addresses.map((a) => a.address), port },
      'The control API is listening.',
    );
  }

  async close(): Promise<void> {
    const servers = this.#servers.splice(0);
    await Promise.all(
      servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => {
              resolve();
            });
            server.closeAllConnections();
          }),
      ),
    );
  }

  #createServer(): http.Server {
    const timeouts = { ...DEFAULT_TIMEOUTS, ...this.#options.timeouts };
    const server = http.createServer(
      {
        headersTimeout: timeouts.headersMs,
        requestTimeout: timeouts.requestMs,
        keepAliveTimeout: timeouts.keepAliveMs,
        maxHeaderSize: 16 * 1024,
        // Node checks the two timeouts above only this often (30 s by default).
        connectionsCheckingInterval: Math.min(1_000, timeouts.headersMs),
      },
      (req, res) => {
        this.#handle(req, res).catch((err: unknown) => {
          this.#options.log.error({ err }, 'A control API request failed unexpectedly.');
          res.destroy();
        });
      },
    );
    server.maxConnections = this.#options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    server.maxRequestsPerSocket = 100;
    // A client that sends its request and then half-closes (`printf … | nc`) still gets its answer
    // (Node drops such requests otherwise). Node has no documented option for it; the test in
    // test/control/server.test.ts fails if this property ever stops working.
    (server as http.Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
    return server;
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? '';
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    let uid: number | undefined;
    try {
      checkOrigin(req, this.#port);
      const found = ROUTES.find(method, path);
      if (found === undefined) throw notFound('Not Found');
      if (found.route === undefined) {
        res.setHeader('Allow', found.allowed.join(', '));
        throw new ApiError(405, 'Unimplemented', `Method ${method} is not allowed here.`);
      }
      uid = await this.#callerOf(req.socket);
      if (uid === undefined) throw forbidden('The caller is not a user of this machine.');
      const privileged = uid === 0 || uid === this.#options.selfUid;
      const body = await found.route.handle(
        { agent: this.#options.agent, uid, privileged, req },
        found.params,
      );
      send(res, 200, body);
      this.#options.log.debug({ method, path, uid, status: 200 }, 'Control API request.');
    } catch (err) {
      const apiError = toApiError(err);
      if (apiError.status >= 500 && !(err instanceof ApiError)) {
        this.#options.log.error({ err, method, path, uid }, 'A control API request failed.');
      } else {
        this.#options.log.info(
          { method, path, uid, status: apiError.status, kind: apiError.kind },
          'A control API request was refused.',
        );
      }
      // After an error the request body may be unread: do not keep the connection.
      res.setHeader('Connection', 'close');
      send(res, apiError.status, apiError.body);
    }
  }

  #callerOf(socket: Socket): Promise<number | undefined> {
    let caller = this.#callers.get(socket);
    if (caller === undefined) {
      caller = this.#options.peers.uidOf(
        { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
        { address: socket.localAddress ?? '', port: socket.localPort ?? 0 },
      );
      this.#callers.set(socket, caller);
    }
    return caller;
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(text);
}

function listen(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(err);
    };
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function errorCode(err: unknown): string {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : '';
}
