/**
 * The agent's side of Boundary's worker proxy protocol (client `api/proxy/`, worker
 * `internal/daemon/worker/handler.go`): one TLS 1.3 +
 * WebSocket connection per proxied TCP connection, all with the session's one tofu token, and a
 * separate connection that cancels the session.
 *
 *   const dialer = new WorkerDialer({ clock, log });
 *   const tofu = newTofuToken();                       // once per session
 *   const stream = await dialer.open(auth, tofu, signal);
 *   const early = await dialer.prepare(auth, signal);  // TLS + WebSocket, nothing sent yet
 *   const later = await early.handshake(tofu, signal); // or early.destroy()
 *   socket.pipe(stream).pipe(socket);                  // stream.handshake.connectionsLeft …
 *   await dialer.cancelSession(auth, tofu, signal);    // when the agent drops the session early
 */
import { X509Certificate, randomBytes } from 'node:crypto';
import type tls from 'node:tls';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import type { Clock } from '../lib/index.js';
import type { SessionAuthorizationData } from './authz-token.js';
import { sessionCredentials, type SessionCredentials } from './session-credentials.js';
import { rawChunks, WebSocketStream } from './websocket-stream.js';
import { step } from './abortable-step.js';
import {
  clientSecureContext,
  connectTls,
  TlsTickets,
  upgrade,
  type ConnectContext,
} from './worker-connect.js';
import { closeError, WorkerError } from './worker-errors.js';
import {
  CLOSE,
  decodeHandshakeResult,
  encodeClientHandshake,
  HandshakeCommand,
  TOFU_TOKEN_LENGTH,
  type HandshakeResult,
} from './worker-protocol.js';

export interface WorkerDialerOptions {
  readonly clock: Clock;
  readonly log: Logger;
  /** Limit for each step (TCP connect per address, TLS, upgrade, handshake); default 10 s. */
  readonly connectTimeoutMs?: number;
  /** How long `cancelSession` waits for the worker to confirm; default 30 s. */
  readonly cancelTimeoutMs?: number;
}

/** A proxied TCP connection: a byte stream, with what the worker said in the handshake. */
export class WorkerStream extends WebSocketStream {
  readonly handshake: HandshakeResult;
  /** The worker address that served it (`host:port`). */
  readonly workerAddress: string;

  constructor(ws: WebSocket, handshake: HandshakeResult, workerAddress: string) {
    super(ws, { closeError: (code, reason) => closeError(code, reason, workerAddress) });
    this.handshake = handshake;
    this.workerAddress = workerAddress;
  }
}

/** What every connection of a session needs for TLS, made once per session. */
interface SessionTls {
  readonly creds: SessionCredentials;
  readonly certificate: X509Certificate;
  readonly secureContext: tls.SecureContext;
  readonly tickets: TlsTickets;
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A fresh tofu token: 20 random base62 characters. Use one per session, for all its connections. */
export function newTofuToken(random: (n: number) => Uint8Array = randomBytes): string {
  let token = '';
  // 248 = 4 × 62: bytes below it map to base62 without bias. Each round yields ~97% of a batch.
  for (let round = 0; round < 100 && token.length < TOFU_TOKEN_LENGTH; round++) {
    for (const byte of random(TOFU_TOKEN_LENGTH)) {
      if (byte < 248 && token.length < TOFU_TOKEN_LENGTH) token += BASE62.charAt(byte % 62);
    }
  }
  if (token.length !== TOFU_TOKEN_LENGTH)
    throw new Error('the random source returned no usable bytes');
  return token;
}

/**
 * A worker connection with TLS and the WebSocket up and nothing sent yet: the worker has not
 * counted it against the session. `handshake` sends the ClientHandshake and makes it a proxied
 * connection; `destroy` drops it unused.
 */
export class PreparedWorkerConnection {
  readonly ws: WebSocket;
  /** The worker address that serves it (`host:port`). */
  readonly address: string;
  /** TLS resumed an earlier connection of the session to this worker (no certificates sent). */
  readonly tlsResumed: boolean;
  readonly #sessionId: string;
  readonly #context: (signal: AbortSignal) => ConnectContext;
  readonly #log: Logger;
  #used = false;

  constructor(
    ws: WebSocket,
    address: string,
    sessionId: string,
    options: {
      context: (signal: AbortSignal) => ConnectContext;
      log: Logger;
      tlsResumed?: boolean;
    },
  ) {
    this.ws = ws;
    this.address = address;
    this.tlsResumed = options.tlsResumed ?? false;
    this.#sessionId = sessionId;
    this.#context = options.context;
    this.#log = options.log;
  }

  /** Not used yet and the connection still open: a handshake may be sent on it. */
  get isOpen(): boolean {
    return !this.#used && this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends the ClientHandshake with the session's tofu token and waits for the HandshakeResult. */
  async handshake(tofuToken: string, signal: AbortSignal): Promise<WorkerStream> {
    checkTofu(tofuToken);
    if (this.#used) throw new Error('a prepared worker connection is used once');
    this.#used = true;
    const { ws, address } = this;
    if (signal.aborted) {
      ws.terminate();
      signal.throwIfAborted();
    }
    if (ws.readyState !== WebSocket.OPEN) {
      throw new WorkerError(
        'protocol',
        `the worker at ${address} closed the connection before the handshake`,
        {
          address,
        },
      );
    }
    ws.send(encodeClientHandshake({ tofuToken, command: HandshakeCommand.unspecified }), {
      binary: true,
    });
    const stream = await step<WorkerStream>(
      this.#context(signal),
      () =>
        new WorkerError('timeout', `the worker at ${address} did not answer the handshake`, {
          address,
        }),
      () => {
        ws.terminate();
      },
      (resolve, reject) => {
        const onMessage = (data: WebSocket.RawData, isBinary: boolean) => {
          try {
            if (!isBinary) throw new WorkerError('protocol', 'the handshake result is not binary');
            const result = decodeHandshakeResult(Buffer.concat(rawChunks(data)));
            // Synchronously, so that the target's first bytes land in the stream.
            resolve(new WorkerStream(ws, result, address));
          } catch (error) {
            ws.close(CLOSE.protocolError, 'invalid handshake result');
            reject(error);
          }
        };
        const onClose = (code: number, reason: Buffer) => {
          reject(
            closeError(code, reason.toString(), address) ??
              new WorkerError(
                'protocol',
                `the worker at ${address} closed before the handshake result`,
                {
                  address,
                  closeCode: code,
                },
              ),
          );
        };
        ws.once('message', onMessage);
        ws.on('close', onClose);
        return () => {
          ws.off('message', onMessage);
          ws.off('close', onClose);
        };
      },
    );
    this.#log.debug(
      {
        session: this.#sessionId,
        worker: address,
        connectionsLeft: stream.handshake.connectionsLeft,
      },
      'Worker accepted a connection.',
    );
    return stream;
  }

  /** Drops the connection without a handshake (nothing was sent on it). */
  destroy(): void {
    this.#used = true;
    this.ws.terminate();
  }
}

function checkTofu(tofuToken: string): void {
  if (tofuToken.length !== TOFU_TOKEN_LENGTH) {
    throw new WorkerError('protocol', `a tofu token must be ${TOFU_TOKEN_LENGTH} characters`);
  }
}

export class WorkerDialer {
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #connectTimeoutMs: number;
  readonly #cancelTimeoutMs: number;
  /** Per session (its authorization data object), kept as long as the session holds it. */
  readonly #tls = new WeakMap<SessionAuthorizationData, SessionTls>();

  constructor(options: WorkerDialerOptions) {
    this.#clock = options.clock;
    this.#log = options.log.child({ component: 'worker-dialer' });
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.#cancelTimeoutMs = options.cancelTimeoutMs ?? 30_000;
  }

  /**
   * Opens one proxied connection on the session: TLS, WebSocket, then the handshake. Resolves
   * once the worker accepted it; the stream then carries the target's bytes. A worker close
   * after that (e.g. 3000, the target is unreachable) destroys the stream with a WorkerError.
   */
  async open(
    auth: SessionAuthorizationData,
    tofuToken: string,
    signal: AbortSignal,
  ): Promise<WorkerStream> {
    checkTofu(tofuToken);
    const prepared = await this.prepare(auth, signal);
    return prepared.handshake(tofuToken, signal);
  }

  /**
   * The first two steps of a connection on the session, TLS and the WebSocket upgrade, and
   * nothing sent on it: the worker counts no connection until `handshake`. `destroy` drops it.
   */
  async prepare(
    auth: SessionAuthorizationData,
    signal: AbortSignal,
  ): Promise<PreparedWorkerConnection> {
    signal.throwIfAborted();
    const material = this.#sessionTls(auth);
    const ctx = this.#context(signal, this.#connectTimeoutMs);
    const { socket, address } = await connectTls(
      auth,
      material.creds,
      material.certificate,
      ctx,
      material.secureContext,
      material.tickets,
    );
    const ws = await upgrade(socket, address, ctx);
    if (signal.aborted) {
      ws.terminate();
      signal.throwIfAborted();
    }
    return new PreparedWorkerConnection(ws, address, auth.sessionId, {
      context: (s) => this.#context(s, this.#connectTimeoutMs),
      log: this.#log,
      tlsResumed: socket.isSessionReused(),
    });
  }

  /**
   * Asks the worker to cancel the session (`SESSION_CANCEL` on a fresh connection) and waits,
   * up to the cancel timeout, for its close 1000 "session canceled".
   */
  async cancelSession(
    auth: SessionAuthorizationData,
    tofuToken: string,
    signal: AbortSignal,
  ): Promise<void> {
    checkTofu(tofuToken);
    const { ws, address } = await this.prepare(auth, signal);
    if (signal.aborted) {
      ws.terminate();
      signal.throwIfAborted();
    }
    ws.send(encodeClientHandshake({ tofuToken, command: HandshakeCommand.sessionCancel }), {
      binary: true,
    });
    await step<undefined>(
      this.#context(signal, this.#cancelTimeoutMs),
      () =>
        new WorkerError('timeout', `the worker at ${address} did not confirm the cancellation`, {
          address,
        }),
      () => {
        ws.terminate();
      },
      (resolve, reject) => {
        const onClose = (code: number, reason: Buffer) => {
          const error = closeError(code, reason.toString(), address);
          if (error === undefined) resolve(undefined);
          else reject(error);
        };
        const onMessage = () => {
          ws.close(CLOSE.protocolError, 'expected a close');
          reject(
            new WorkerError('protocol', `the worker at ${address} did not cancel the session`),
          );
        };
        ws.on('close', onClose);
        ws.on('message', onMessage);
        return () => {
          ws.off('close', onClose);
          ws.off('message', onMessage);
        };
      },
    );
    this.#log.info({ session: auth.sessionId, worker: address }, 'Session canceled at the worker.');
  }

  #context(signal: AbortSignal, timeoutMs: number): ConnectContext {
    return { clock: this.#clock, log: this.#log, signal, timeoutMs };
  }

  #sessionTls(auth: SessionAuthorizationData): SessionTls {
    let material = this.#tls.get(auth);
    if (material === undefined) {
      const creds = sessionCredentials(auth);
      material = {
        creds,
        certificate: new X509Certificate(creds.certificate),
        secureContext: clientSecureContext(creds),
        tickets: new TlsTickets(),
      };
      this.#tls.set(auth, material);
    }
    return material;
  }
}
