/**
 * One UDP socket of the DNS server: a datagram in, at most one datagram out. On Linux the socket
 * is the batched one of native/udp-batch (recvmmsg/sendmmsg) when it is built; elsewhere, or
 * when asked, Node's dgram.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from 'pino';
import type { ClientAddress, Transport } from './query.js';
import { BatchUdpSocket, type UdpBatchAddon } from './udp-batch.js';

/** `server` is the listener's own end, where the client sent the message. */
export type MessageHandler = (
  bytes: Buffer,
  transport: Transport,
  client: ClientAddress,
  server: ClientAddress,
) => Buffer | undefined | Promise<Buffer | undefined>;

export interface UdpListenerOptions {
  readonly address: string;
  readonly port: number;
  readonly handle: MessageHandler;
  readonly log: Logger;
  /** Kernel receive/send buffer size to ask for (default 1 MiB). */
  readonly bufferBytes?: number | undefined;
  /** The batched socket's addon (see resolveUdpIo); without it, Node's dgram. */
  readonly batch?: UdpBatchAddon | undefined;
}

/** What the listener needs of a socket: both dgram and the batched socket have it. */
interface DatagramSocket {
  send(bytes: Buffer, port: number, address: string): void;
  readonly port: number;
  close(): Promise<void>;
}

export class UdpListener {
  readonly #options: UdpListenerOptions;
  readonly #socket: DatagramSocket;
  /** This socket's end, the same for every datagram. */
  readonly #end: ClientAddress;
  #closed = false;

  private constructor(options: UdpListenerOptions, socket: DatagramSocket) {
    this.#options = options;
    this.#socket = socket;
    this.#end = Object.freeze({ address: options.address, port: socket.port });
  }

  /** Binds the socket; rejects with the system error when it cannot. */
  static async bind(options: UdpListenerOptions): Promise<UdpListener> {
    // datagrams are events of later turns of the loop: the listener exists before the first
    const bound: { listener?: UdpListener } = {};
    const size = options.bufferBytes ?? 1 << 20;
    const socket =
      options.batch === undefined
        ? await bindDgram(options, size, (msg, client) => {
            bound.listener?.receive(msg, client);
          })
        : bindBatch(options.batch, options, size, (msg, client) => {
            // the view is overwritten by the next batch; a query answered later keeps a copy
            bound.listener?.receive(Buffer.from(msg), client);
          });
    bound.listener = new UdpListener(options, socket);
    return bound.listener;
  }

  get port(): number {
    return this.#socket.port;
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return this.#socket.close();
  }

  /**
   * One datagram from the socket. Answers at once when the handlers did (an alias from memory),
   * else when they finish.
   */
  private receive(msg: Buffer, client: ClientAddress): void {
    let answer: Buffer | undefined | Promise<Buffer | undefined>;
    try {
      answer = this.#options.handle(msg, 'udp', client, this.#end);
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
    this.#socket.send(answer, client.port, client.address);
  }
}

type OnDatagram = (msg: Buffer, client: ClientAddress) => void;

function bindDgram(
  options: UdpListenerOptions,
  size: number,
  onDatagram: OnDatagram,
): Promise<DatagramSocket> {
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
      try {
        socket.setRecvBufferSize(size);
        socket.setSendBufferSize(size);
      } catch {
        // the kernel limit applies; the defaults work, only bursts lose more
      }
      socket.on('message', (msg, rinfo) => {
        onDatagram(msg, { address: rinfo.address, port: rinfo.port });
      });
      socket.on('error', (error) => {
        options.log.warn(
          { err: error.message, address: options.address },
          'A DNS UDP socket reported an error.',
        );
      });
      resolve({
        // no callback: a failed send is reported as the socket's 'error' event (logged above)
        send: (bytes, port, address) => {
          socket.send(bytes, port, address);
        },
        port: socket.address().port,
        close: () =>
          new Promise((done) => {
            socket.close(() => {
              done();
            });
          }),
      });
    });
  });
}

function bindBatch(
  addon: UdpBatchAddon,
  options: UdpListenerOptions,
  size: number,
  onDatagram: OnDatagram,
): DatagramSocket {
  const socket = new BatchUdpSocket(addon, {
    address: options.address,
    port: options.port,
    bufferBytes: size,
    onDatagram: (data, address, port, truncated) => {
      // a datagram longer than a slot (4 KiB) is no DNS query: dropped, as a malformed one is
      if (!truncated) onDatagram(data, { address, port });
    },
  });
  return {
    send: (bytes, port, address) => {
      socket.send(bytes, port, address);
    },
    port: socket.port,
    close: () => {
      socket.close();
      return Promise.resolve();
    },
  };
}
