/** One UDP socket of the DNS server: a datagram in, at most one datagram out. */
import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from 'pino';
import type { ClientAddress, Transport } from './query.js';

export type MessageHandler = (
  bytes: Buffer,
  transport: Transport,
  client: ClientAddress,
) => Buffer | undefined | Promise<Buffer | undefined>;

export interface UdpListenerOptions {
  readonly address: string;
  readonly port: number;
  readonly handle: MessageHandler;
  readonly log: Logger;
  /** Kernel receive/send buffer size to ask for (default 1 MiB). */
  readonly bufferBytes?: number | undefined;
}

export class UdpListener {
  readonly #options: UdpListenerOptions;
  readonly #socket: dgram.Socket;
  #closed = false;

  private constructor(options: UdpListenerOptions, socket: dgram.Socket) {
    this.#options = options;
    this.#socket = socket;
    socket.on('message', (msg, rinfo) => {
      this.#onMessage(msg, { address: rinfo.address, port: rinfo.port });
    });
    socket.on('error', (error) => {
      options.log.warn(
        { err: error.message, address: options.address },
        'A DNS UDP socket reported an error.',
      );
    });
  }

  /** Binds the socket; rejects with the system error when it cannot. */
  static bind(options: UdpListenerOptions): Promise<UdpListener> {
    const family = net.isIP(options.address);
    const socket = dgram.createSocket({
      type: family === 6 ? 'udp6' : 'udp4',
      ipv6Only: family === 6,
    });
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => {
        socket.close();
        reject(error);
      };
      socket.once('error', onError);
      socket.bind({ address: options.address, port: options.port, exclusive: true }, () => {
        socket.off('error', onError);
        const size = options.bufferBytes ?? 1 << 20;
        try {
          socket.setRecvBufferSize(size);
          socket.setSendBufferSize(size);
        } catch {
          // the kernel limit applies; the defaults work, only bursts lose more
        }
        resolve(new UdpListener(options, socket));
      });
    });
  }

  get port(): number {
    return this.#socket.address().port;
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return new Promise((resolve) => {
      this.#socket.close(() => {
        resolve();
      });
    });
  }

  /** Answers at once when the handlers did (an alias from memory), else when they finish. */
  #onMessage(msg: Buffer, client: ClientAddress): void {
    let answer: Buffer | undefined | Promise<Buffer | undefined>;
    try {
      answer = this.#options.handle(msg, 'udp', client);
    } catch (error) {
      this.#handlerFailed(error);
      return;
    }
    if (answer instanceof Promise) {
      answer.then(
        (bytes) => {
          this.#send(bytes, client);
        },
        (error: unknown) => {
          this.#handlerFailed(error);
        },
      );
    } else {
      this.#send(answer, client);
    }
  }

  #handlerFailed(error: unknown): void {
    this.#options.log.error({ err: (error as Error).message }, 'Handling a DNS datagram failed.');
  }

  #send(answer: Buffer | undefined, client: ClientAddress): void {
    if (answer === undefined || this.#closed) return;
    // no callback: a failed send is reported as the socket's 'error' event (logged above)
    this.#socket.send(answer, client.port, client.address);
  }
}
