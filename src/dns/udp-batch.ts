/**
 * Batched UDP through the native addon in native/udp-batch (Linux): recvmmsg drains the socket
 * into a receive area shared with JavaScript and calls back once per batch; replies are copied
 * into a send area and leave with one sendmmsg per flush. With Node's dgram every datagram costs a
 * system call and a JavaScript callback, which under load weigh more than the DNS work itself;
 * a batch pays them once for many datagrams.
 *
 * Replies queued while a batch is being handled leave when it ends; replies queued at any other
 * time (answers from upstream) leave together at the next turn of the event loop.
 */
import net from 'node:net';
import { Address6 } from 'ip-address';
import { DnsOptionsError } from './errors.js';

/**
 * What BatchUdpSocket needs of the batched-UDP addon (native/udp-batch/src/udp_batch.c lays out
 * the shared areas). The platform loads it (src/platform/linux/udp-batch-addon.ts) and whoever
 * builds the DNS service passes it in.
 */
export interface UdpBatchAddon {
  open(
    family: 4 | 6,
    address: string,
    port: number,
    bufferBytes: number,
    onBatch: (count: number) => void,
  ): [
    handle: unknown,
    port: number,
    inData: Buffer,
    inMeta: Buffer,
    outData: Buffer,
    outMeta: Buffer,
  ];
  flush(handle: unknown, count: number): number;
  close(handle: unknown): void;
  readonly SLOTS: number;
  readonly SLOT_BYTES: number;
  readonly META_BYTES: number;
}

const FLAG_TRUNCATED = 1;
/** Formatted/parsed addresses kept (clients of a resolver are few: loopback and the machine's own). */
const ADDRESS_CACHE = 1024;

/**
 * How UDP is read and written: 'batched' (this addon; an error when it is not available),
 * 'dgram' (Node's dgram, one datagram per system call), or 'auto': batched where it is built.
 */
export type UdpIo = 'auto' | 'batched' | 'dgram';

/** Why the addon cannot be used; `expected`: the OS has it, so its absence is worth a warning. */
export interface UdpBatchUnavailable {
  readonly unavailable: string;
  readonly expected: boolean;
}

/**
 * The addon to use for `wanted` (undefined: dgram), from `load`, which gives the addon or why it
 * cannot be used. `fallback` says why 'auto' fell back where the addon is expected; elsewhere
 * dgram is the only way and nothing is said.
 */
export function resolveUdpIo(
  wanted: UdpIo,
  load: () => UdpBatchAddon | UdpBatchUnavailable,
): {
  readonly addon: UdpBatchAddon | undefined;
  readonly fallback?: string;
} {
  if (wanted === 'dgram') return { addon: undefined };
  const loaded = load();
  if (!('unavailable' in loaded)) return { addon: loaded };
  if (wanted === 'batched') {
    throw new DnsOptionsError(`batched UDP is not available: ${loaded.unavailable}`);
  }
  return loaded.expected
    ? { addon: undefined, fallback: loaded.unavailable }
    : { addon: undefined };
}

export interface BatchUdpSocketOptions {
  readonly address: string;
  readonly port: number;
  /** Kernel receive/send buffer size to ask for. */
  readonly bufferBytes: number;
  /**
   * One datagram: `data` is a view of the receive area, valid only during the call (copy what
   * is kept). `truncated`: the datagram was longer than a slot (SLOT_BYTES, 4 KiB) and `data`
   * holds its beginning only.
   */
  readonly onDatagram: (data: Buffer, address: string, port: number, truncated: boolean) => void;
}

export class BatchUdpSocket {
  readonly #addon: UdpBatchAddon;
  readonly #handle: unknown;
  readonly #port: number;
  readonly #inData: Buffer;
  readonly #inMeta: Buffer;
  readonly #outData: Buffer;
  readonly #outMeta: Buffer;
  readonly #names = new Map<string, string>();
  readonly #bytes = new Map<string, Buffer>();
  /** Replies in the send area, not yet flushed. */
  #queued = 0;
  #inBatch = false;
  #flushScheduled: NodeJS.Immediate | undefined;
  #closed = false;
  /** Replies lost: larger than a slot, or refused by a full send buffer. */
  dropped = 0;

  /** Binds; throws the system error (with `code`, e.g. EADDRINUSE) when it cannot. */
  constructor(addon: UdpBatchAddon, options: BatchUdpSocketOptions) {
    this.#addon = addon;
    const family = net.isIP(options.address) === 6 ? 6 : 4;
    [this.#handle, this.#port, this.#inData, this.#inMeta, this.#outData, this.#outMeta] =
      addon.open(family, options.address, options.port, options.bufferBytes, (count) => {
        this.#onBatch(count, options.onDatagram);
      });
  }

  get port(): number {
    return this.#port;
  }

  /** Queues a datagram to `address`:`port`; it leaves at the end of the batch or the loop turn. */
  send(bytes: Buffer, port: number, address: string): void {
    if (this.#closed) return;
    const { SLOTS, SLOT_BYTES, META_BYTES } = this.#addon;
    if (bytes.length > SLOT_BYTES) {
      this.dropped++;
      return;
    }
    if (this.#queued === SLOTS) this.#flush();
    const slot = this.#queued++;
    bytes.copy(this.#outData, slot * SLOT_BYTES);
    const meta = slot * META_BYTES;
    this.#addressBytes(address).copy(this.#outMeta, meta + 4);
    this.#outMeta.writeUInt32LE(bytes.length, meta);
    this.#outMeta.writeUInt16LE(port, meta + 6);
    if (!this.#inBatch && this.#flushScheduled === undefined) {
      this.#flushScheduled = setImmediate(() => {
        this.#flushScheduled = undefined;
        this.#flush();
      });
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#flush();
    this.#closed = true;
    if (this.#flushScheduled !== undefined) clearImmediate(this.#flushScheduled);
    this.#addon.close(this.#handle);
  }

  #onBatch(count: number, onDatagram: BatchUdpSocketOptions['onDatagram']): void {
    const { SLOT_BYTES, META_BYTES } = this.#addon;
    this.#inBatch = true;
    try {
      for (let i = 0; i < count && !this.#closed; i++) {
        const meta = i * META_BYTES;
        const length = this.#inMeta.readUInt32LE(meta);
        const port = this.#inMeta.readUInt16LE(meta + 6);
        const address = this.#addressName(meta);
        const start = i * SLOT_BYTES;
        const truncated = (this.#inMeta.readUInt32LE(meta + 28) & FLAG_TRUNCATED) !== 0;
        onDatagram(this.#inData.subarray(start, start + length), address, port, truncated);
      }
    } finally {
      this.#inBatch = false;
      this.#flush();
    }
  }

  #flush(): void {
    if (this.#queued === 0 || this.#closed) return;
    const queued = this.#queued;
    this.#queued = 0;
    this.dropped += queued - this.#addon.flush(this.#handle, queued);
  }

  /** The source address of a received datagram as Node writes it ("127.0.0.1", "::1"). */
  #addressName(meta: number): string {
    const m = this.#inMeta;
    if (m.readUInt16LE(meta + 4) === 4) {
      return `${m[meta + 8]}.${m[meta + 9]}.${m[meta + 10]}.${m[meta + 11]}`;
    }
    const key = m.toString('latin1', meta + 8, meta + 28);
    let name = this.#names.get(key);
    if (name === undefined) {
      name = Address6.fromByteArray([...m.subarray(meta + 8, meta + 24)]).correctForm();
      const scope = m.readUInt32LE(meta + 24);
      if (scope !== 0) name += `%${scope}`;
      if (this.#names.size >= ADDRESS_CACHE) this.#names.clear();
      this.#names.set(key, name);
    }
    return name;
  }

  /** Family (2 bytes), port placeholder (2 bytes), 16 address bytes, scope id: meta bytes [4, 28). */
  #addressBytes(address: string): Buffer {
    let bytes = this.#bytes.get(address);
    if (bytes === undefined) {
      bytes = Buffer.alloc(24);
      const zone = address.indexOf('%');
      const ip = zone < 0 ? address : address.slice(0, zone);
      if (net.isIPv4(ip)) {
        bytes.writeUInt16LE(4, 0);
        ip.split('.').forEach((part, i) => bytes?.writeUInt8(Number(part), 4 + i));
      } else {
        bytes.writeUInt16LE(6, 0);
        const v6 = new Address6(ip).toUnsignedByteArray();
        Buffer.from(v6).copy(bytes, 4 + 16 - v6.length);
        const scope = zone < 0 ? 0 : Number(address.slice(zone + 1));
        bytes.writeUInt32LE(Number.isInteger(scope) ? scope : 0, 20);
      }
      if (this.#bytes.size >= ADDRESS_CACHE) this.#bytes.clear();
      this.#bytes.set(address, bytes);
    }
    return bytes;
  }
}
