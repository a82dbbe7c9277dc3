/**
 * One TCP listener of the DNS server: length-prefixed messages, several queries per
 * connection (answered as they complete), an idle timeout, a cap on connections and on
 * queries in flight per connection. A length below a header or above the limit closes the
 * connection.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../lib/index.js';
import { HEADER_BYTES } from './wire.js';
import type { MessageHandler } from './udp-listener.js';

export interface TcpLimits {
  /**
   * Close a connection with nothing in flight after this long without data, and one whose
   * started message is not complete this long after its first byte (default 10 s).
   */
  readonly idleTimeoutMs: number;
  /** Connections beyond this are closed at once (default 256). */
  readonly maxConnections: number;
  /** Queries one connection may have in flight before reading from it pauses (default 32). */
  readonly maxQueriesPerConnection: number;
  /** The largest query accepted (default 4096 bytes). */
  readonly maxMessageBytes: number;
}

export const DEFAULT_TCP_LIMITS: TcpLimits = {
  idleTimeoutMs: 10_000,
  maxConnections: 256,
  maxQueriesPerConnection: 32,
  maxMessageBytes: 4096,
};

export interface TcpListenerOptions {
  readonly address: string;
  readonly port: number;
  readonly handle: MessageHandler;
  readonly clock: Clock;
  readonly log: Logger;
  readonly limits: TcpLimits;
  /** Connections from an address it rejects are reset before anything is read. */
  readonly acceptFrom?: ((address: string) => boolean) | undefined;
  readonly onRejected?: (() => void) | undefined;
}

export class TcpListener {
  readonly #server: net.Server;
  readonly #connections = new Set<Connection>();

  private constructor(options: TcpListenerOptions, server: net.Server) {
    this.#server = server;
    server.maxConnections = options.limits.maxConnections;
    server.on('connection', (socket) => {
      if (options.acceptFrom?.(socket.remoteAddress ?? '') === false) {
        options.onRejected?.();
        socket.resetAndDestroy();
        return;
      }
      const connection = new Connection(socket, options, () =>
        this.#connections.delete(connection),
      );
      this.#connections.add(connection);
    });
    server.on('error', (error) => {
      options.log.warn(
        { err: error.message, address: options.address },
        'A DNS TCP listener reported an error.',
      );
    });
  }

  static listen(options: TcpListenerOptions): Promise<TcpListener> {
    const server = net.createServer();
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(
        {
          host: options.address,
          port: options.port,
          exclusive: true,
          ipv6Only: net.isIPv6(options.address),
        },
        () => {
          server.off('error', reject);
          resolve(new TcpListener(options, server));
        },
      );
    });
  }

  get port(): number {
    const address = this.#server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  /** The number of open connections. */
  get connections(): number {
    return this.#connections.size;
  }

  close(): Promise<void> {
    for (const connection of [...this.#connections]) connection.destroy();
    return new Promise((resolve) => {
      this.#server.close(() => {
        resolve();
      });
    });
  }
}

class Connection {
  readonly #socket: net.Socket;
  readonly #options: TcpListenerOptions;
  readonly #onGone: () => void;
  #buffered: Buffer = Buffer.alloc(0);
  #inFlight = 0;
  #lastActivity: number;
  /** When the first byte of a message not yet complete arrived (slow senders are closed). */
  #partialSince: number | undefined;
  #timer: TimerHandle;
  #gone = false;

  constructor(socket: net.Socket, options: TcpListenerOptions, onGone: () => void) {
    this.#socket = socket;
    this.#options = options;
    this.#onGone = onGone;
    this.#lastActivity = options.clock.monotonic();
    this.#timer = options.clock.setTimeout(() => {
      this.#checkIdle();
    }, options.limits.idleTimeoutMs);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.#onData(chunk);
    });
    socket.on('error', () => {
      this.destroy();
    });
    socket.on('close', () => {
      this.destroy();
    });
  }

  destroy(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#timer.cancel();
    this.#socket.destroy();
    this.#onGone();
  }

  #onData(chunk: Buffer): void {
    this.#lastActivity = this.#options.clock.monotonic();
    this.#buffered = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
    const { maxMessageBytes, maxQueriesPerConnection } = this.#options.limits;
    let offset = 0;
    while (!this.#gone && this.#buffered.length - offset >= 2) {
      const length = this.#buffered.readUInt16BE(offset);
      if (length < HEADER_BYTES || length > maxMessageBytes) {
        this.#options.log.debug({ length }, 'A DNS TCP client sent a bad message length; closing.');
        this.destroy();
        return;
      }
      if (this.#buffered.length - offset < 2 + length) break;
      const message = Buffer.from(this.#buffered.subarray(offset + 2, offset + 2 + length));
      offset += 2 + length;
      void this.#serve(message);
    }
    this.#buffered = offset === 0 ? this.#buffered : this.#buffered.subarray(offset);
    if (this.#buffered.length === 0) this.#partialSince = undefined;
    else if (offset > 0 || this.#partialSince === undefined)
      this.#partialSince = this.#lastActivity;
    if (this.#inFlight >= maxQueriesPerConnection) this.#socket.pause();
  }

  async #serve(message: Buffer): Promise<void> {
    this.#inFlight++;
    let answer: Buffer | undefined;
    try {
      const remote = {
        address: this.#socket.remoteAddress ?? '',
        port: this.#socket.remotePort ?? 0,
      };
      const local = {
        address: this.#socket.localAddress ?? '',
        port: this.#socket.localPort ?? 0,
      };
      answer = await this.#options.handle(message, 'tcp', remote, local);
    } catch (error) {
      this.#options.log.error(
        { err: (error as Error).message },
        'Handling a DNS TCP query failed.',
      );
    } finally {
      this.#inFlight--;
    }
    if (this.#gone) return;
    this.#lastActivity = this.#options.clock.monotonic();
    if (answer !== undefined) {
      const length = Buffer.allocUnsafe(2);
      length.writeUInt16BE(answer.length);
      this.#socket.write(Buffer.concat([length, answer]));
    }
    if (this.#inFlight < this.#options.limits.maxQueriesPerConnection && this.#socket.isPaused()) {
      this.#socket.resume();
    }
  }

  #checkIdle(): void {
    if (this.#gone) return;
    const { clock, limits } = this.#options;
    const now = clock.monotonic();
    const idleFor = now - this.#lastActivity;
    const partialFor = this.#partialSince === undefined ? 0 : now - this.#partialSince;
    if (
      (this.#inFlight === 0 && idleFor >= limits.idleTimeoutMs) ||
      partialFor >= limits.idleTimeoutMs
    ) {
      this.destroy();
      return;
    }
    const wait = Math.min(
      this.#inFlight > 0 ? limits.idleTimeoutMs : limits.idleTimeoutMs - idleFor,
      this.#partialSince === undefined ? limits.idleTimeoutMs : limits.idleTimeoutMs - partialFor,
    );
    this.#timer = clock.setTimeout(
      () => {
        this.#checkIdle();
      },
      Math.max(1, wait),
    );
  }
}
