/**
 * Sends queries to upstream servers over UDP from a few sockets per family and matches answers
 * by id, source address and port, and question; anything else arriving on the sockets is ignored.
 * The client's bytes go out unchanged except the id, which is ours (random, unique per socket).
 */
import dgram from 'node:dgram';
import type { Logger } from 'pino';
import { type Clock, type TimerHandle, hostPort } from '../lib/index.js';
import { UpstreamError } from './errors.js';
import { BatchUdpSocket, type UdpBatchAddon } from './udp-batch.js';
import { fitUdp, FLAG_QR, HEADER_BYTES, rcodeOf, setId } from './wire.js';

export interface UpstreamTarget {
  /** Canonical address text (as Node reports a datagram's source). */
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
}

export interface UdpUpstreamOptions {
  readonly clock: Clock;
  /** A uniformly random integer in [0, limit). */
  readonly randomInt: (limit: number) => number;
  readonly log: Logger;
  /** Sockets per address family (default 4); each query picks one at random. */
  readonly socketsPerFamily?: number | undefined;
  /** Batched UDP (see resolveUdpIo); without it, Node's dgram. */
  readonly batch?: UdpBatchAddon | undefined;
}

/** An upstream socket: Node's dgram or the batched one. */
interface UpstreamSocket {
  send(bytes: Buffer, port: number, address: string): void;
  close(): void;
}

interface Pending {
  readonly target: UpstreamTarget;
  readonly query: Buffer;
  readonly questionEnd: number;
  readonly resolve: (answer: Buffer) => void;
  readonly reject: (error: Error) => void;
  readonly timer: TimerHandle;
}

interface ClientSocket {
  readonly socket: UpstreamSocket;
  readonly pending: Map<number, Pending>;
}

/** Ids in use per socket before another socket is chosen. */
const MAX_PENDING_PER_SOCKET = 30_000;

export class UdpUpstreamClient {
  readonly #options: UdpUpstreamOptions;
  readonly #count: number;
  readonly #sockets = new Map<4 | 6, ClientSocket[]>();
  #closed = false;

  constructor(options: UdpUpstreamOptions) {
    this.#options = options;
    this.#count = options.socketsPerFamily ?? 4;
  }

  /**
   * Asks `target`; resolves with its answer (our id in it), rejects on timeout or error. An
   * aborted `signal` stops a query before it is sent; close() ends those in flight (no listener
   * per query on the long-lived signal).
   */
  exchange(
    target: UpstreamTarget,
    query: Buffer,
    questionEnd: number,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      if (this.#closed) {
        reject(new UpstreamError('the DNS forwarder is closed'));
        return;
      }
      if (signal.aborted) {
        reject(signal.reason as Error);
        return;
      }
      const { randomInt } = this.#options;
      const sockets = this.#socketsFor(target.family);
      let client: ClientSocket | undefined;
      let id = 0;
      for (let tries = 0; tries < 64 && client === undefined; tries++) {
        const candidate = sockets[randomInt(sockets.length)];
        id = randomInt(65_536);
        if (
          candidate !== undefined &&
          candidate.pending.size < MAX_PENDING_PER_SOCKET &&
          !candidate.pending.has(id)
        ) {
          client = candidate;
        }
      }
      if (client === undefined) {
        reject(new UpstreamError('too many upstream queries in flight'));
        return;
      }
      const owner = client;
      const out = Buffer.allocUnsafe(query.length);
      query.copy(out);
      setId(out, id);
      const settle = (): void => {
        owner.pending.delete(id);
        pending.timer.cancel();
      };
      const pending: Pending = {
        target,
        query,
        questionEnd,
        resolve: (answer) => {
          settle();
          resolve(answer);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
        timer: this.#options.clock.setTimeout(() => {
          pending.reject(
            new UpstreamError(`${describe(target)} did not answer within ${timeoutMs} ms`),
          );
        }, timeoutMs),
      };
      owner.pending.set(id, pending);
      owner.socket.send(out, target.port, target.address);
    });
  }

  /** Closes the sockets; queries still waiting fail. */
  close(): void {
    this.#closed = true;
    for (const list of this.#sockets.values()) {
      for (const client of list) {
        for (const pending of [...client.pending.values()]) {
          pending.reject(new UpstreamError('the DNS forwarder was closed'));
        }
        client.socket.close();
      }
    }
    this.#sockets.clear();
  }

  #socketsFor(family: 4 | 6): ClientSocket[] {
    let list = this.#sockets.get(family);
    if (list === undefined) {
      list = [];
      for (let i = 0; i < this.#count; i++) list.push(this.#open(family));
      this.#sockets.set(family, list);
    }
    return list;
  }

  #open(family: 4 | 6): ClientSocket {
    const pending = new Map<number, Pending>();
    /** `truncated`: only the beginning of a longer answer (more than 4 KiB) could be read. */
    const onAnswer = (msg: Buffer, address: string, port: number, truncated = false): void => {
      if (msg.length < HEADER_BYTES) return;
      const waiting = pending.get(msg.readUInt16BE(0));
      if (waiting === undefined) return;
      if (port !== waiting.target.port || address !== waiting.target.address) return;
      const flags = msg.readUInt16BE(2);
      if ((flags & FLAG_QR) === 0) return;
      const questionless = msg.readUInt16BE(4) === 0 && rcodeOf(flags) !== 0;
      if (!questionless && !sameQuestion(msg, waiting.query, waiting.questionEnd)) return;
      // an answer too long to read whole counts as truncated (TC): no UDP client can take more
      // than 4 KiB from us, and a TCP client's query is asked again over TCP
      waiting.resolve(truncated ? fitUdp(msg, waiting.questionEnd, 0) : msg);
    };
    const batch = this.#options.batch;
    if (batch !== undefined) {
      // bound to an ephemeral port of the family's wildcard address, as dgram's first send does
      const socket = new BatchUdpSocket(batch, {
        address: family === 4 ? '0.0.0.0' : '::',
        port: 0,
        bufferBytes: 1 << 20,
        onDatagram: (data, address, port, truncated) => {
          // the view is overwritten by the next batch: the answer handed on is a copy
          onAnswer(Buffer.from(data), address, port, truncated);
        },
      });
      return { socket, pending };
    }
    const socket = dgram.createSocket(family === 4 ? 'udp4' : 'udp6');
    socket.on('message', (msg, rinfo) => {
      onAnswer(msg, rinfo.address, rinfo.port);
    });
    socket.on('error', (error) => {
      this.#options.log.warn({ err: error.message }, 'An upstream DNS socket reported an error.');
    });
    return {
      // no callback (it costs on every query): a send that fails ends at the timeout
      socket: {
        send: (bytes, port, address) => {
          socket.send(bytes, port, address);
        },
        close: () => socket.close(),
      },
      pending,
    };
  }
}

export function describe(target: { address: string; port: number; family: 4 | 6 }): string {
  return hostPort(target.address, target.port);
}

/** The answer's question section is the query's, ignoring ASCII case. */
export function sameQuestion(answer: Buffer, query: Buffer, questionEnd: number): boolean {
  if (answer.length < questionEnd) return false;
  if (answer.compare(query, HEADER_BYTES, questionEnd, HEADER_BYTES, questionEnd) === 0)
    return true;
  return (
    answer.toString('latin1', HEADER_BYTES, questionEnd).toLowerCase() ===
    query.toString('latin1', HEADER_BYTES, questionEnd).toLowerCase()
  );
}
