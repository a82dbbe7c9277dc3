/**
 * Linux: the uid owning the other end of a local TCP connection, or the local UDP socket a
 * datagram came from (sock_diag only). Asked of the kernel by the
 * connection's exact four-tuple over sock_diag netlink (sock-diag.ts) where that is available: a
 * hash lookup, whose cost does not grow with the number of sockets. Otherwise, or when the
 * kernel could not be asked, from /proc/net/tcp{,6}.
 *
 * The tables hold every socket of the network namespace (TIME_WAIT ones too, thousands on a busy
 * machine), and the kernel makes them 4 KiB per read, walking its whole connection hash. So the
 * lookup does not parse rows: it builds the exact text the kernel prints for the peer's row
 * (see `procRowKey`), searches the bytes for it as they arrive, and stops reading at that row.
 */
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { canonicalIp } from '../../lib/index.js';
import type { PeerCredentials, TcpEndpoint } from '../types.js';
import { procRowKey, uidAfterEndpoints } from './proc-net-tcp.js';
import { SockDiag } from './sock-diag.js';

export interface LinuxPeerCredentialsOptions {
  /** Where /proc is mounted: `/` normally; tests may point elsewhere. */
  readonly root?: string;
  /** Reads a whole table instead of the chunked reader (tests). */
  readonly readFile?: (file: string) => Promise<string>;
  /** The read buffer: a row must fit in it. Default 256 KiB. */
  readonly bufferBytes?: number;
  /**
   * Ask the kernel over sock_diag netlink first. Default: when /proc is the real one (`root` is
   * `/` and no `readFile`), since netlink sees the real tables.
   */
  readonly sockDiag?: boolean;
  /** Opens the sock_diag socket (default SockDiag.open; tests stand in a missing addon). */
  readonly openSockDiag?: () => SockDiag | undefined;
}

const DEFAULT_BUFFER_BYTES = 256 * 1024;
/** Reads of one table at most: far beyond any real table (the kernel gives ≤ 4 KiB a read). */
const MAX_READS = 1 << 16;
/** Buffers kept for reuse by lookups to come. */
const SPARE_BUFFERS = 2;
const NEWLINE = 0x0a;

export class LinuxPeerCredentials implements PeerCredentials {
  readonly #root: string;
  readonly #readFile: ((file: string) => Promise<string>) | undefined;
  readonly #bufferBytes: number;
  readonly #spare: Buffer[] = [];
  /** Opened on the first lookup (null: not available, or closed). */
  #sockDiag: SockDiag | null | undefined;
  /** Whether sock_diag was meant to be used (the real machine, not a test's /proc tree). */
  readonly #wantsSockDiag: boolean;
  readonly #openSockDiag: () => SockDiag | undefined;

  constructor(options: LinuxPeerCredentialsOptions = {}) {
    this.#root = options.root ?? '/';
    this.#readFile = options.readFile;
    this.#bufferBytes = options.bufferBytes ?? DEFAULT_BUFFER_BYTES;
    const real = path.resolve(this.#root) === '/' && options.readFile === undefined;
    this.#wantsSockDiag = options.sockDiag ?? real;
    this.#openSockDiag = options.openSockDiag ?? (() => SockDiag.open());
  }

  slowLookups(): Promise<string | undefined> {
    if (!this.#wantsSockDiag || this.usesSockDiag()) return Promise.resolve(undefined);
    return Promise.resolve(
      'the proxy finds the user of each connection by reading /proc/net/tcp, because native/sock-diag is not built (npm ci builds it; it needs a C compiler and make): each new connection waits a few ms more, more with many sockets open',
    );
  }

  /** Whether lookups go to the kernel over sock_diag netlink (false: /proc only). */
  usesSockDiag(): boolean {
    return this.#diag() !== undefined;
  }

  async uidOf(peer: TcpEndpoint, local: TcpEndpoint): Promise<number | undefined> {
    const diag = this.#diag();
    if (diag !== undefined) {
      try {
        // The peer's socket: its local end is the peer, its remote end our side.
        return diag.uidOf(peer, local);
      } catch {
        // The kernel could not be asked: /proc still can be.
      }
    }
    return this.#fromProc(peer, local);
  }

  /**
   * Over sock_diag only: /proc/net/udp has no exact row for a socket that is not connected (a
   * DNS client's usually is not), so without the addon the sender stays unknown.
   */
  uidOfUdp(peer: TcpEndpoint, local: TcpEndpoint): Promise<number | undefined> {
    try {
      // The peer's socket is the one that gets what our side sends to it.
      return Promise.resolve(this.#diag()?.uidOfUdpReceiver(local, peer));
    } catch {
      return Promise.resolve(undefined);
    }
  }

  /** Closes the netlink socket, if one was opened. */
  close(): Promise<void> {
    this.#sockDiag?.close();
    this.#sockDiag = null;
    return Promise.resolve();
  }

  #diag(): SockDiag | undefined {
    if (!this.#wantsSockDiag) return undefined;
    if (this.#sockDiag === undefined) this.#sockDiag = this.#openSockDiag() ?? null;
    return this.#sockDiag ?? undefined;
  }

  async #fromProc(peer: TcpEndpoint, local: TcpEndpoint): Promise<number | undefined> {
    // The peer socket's row has the peer as its local end and us as its remote end. An IPv4
    // peer is usually an AF_INET socket (in tcp); a dual-stack AF_INET6 one is in tcp6, v4-mapped.
    const tables: ['tcp' | 'tcp6', 4 | 6][] = net.isIPv4(canonicalIp(peer.address))
      ? [
          ['tcp', 4],
          ['tcp6', 6],
        ]
      : [['tcp6', 6]];
    for (const [table, family] of tables) {
      const key = procRowKey(peer, local, family);
      if (key === undefined) continue;
      const file = path.join(this.#root, 'proc/net', table);
      const uid = await this.#search(file, key).catch(() => undefined);
      if (uid !== undefined) return uid;
    }
    return undefined;
  }

  /** The uid on the first row with `key`, or undefined. */
  async #search(file: string, key: string): Promise<number | undefined> {
    if (this.#readFile !== undefined) {
      const text = await this.#readFile(file);
      const at = text.indexOf(key);
      if (at < 0) return undefined;
      const end = text.indexOf('\n', at);
      return uidAfterEndpoints(text.slice(at + key.length, end < 0 ? undefined : end));
    }
    const handle = await fs.open(file, 'r');
    const buffer = this.#spare.pop() ?? Buffer.allocUnsafeSlow(this.#bufferBytes);
    try {
      return await searchChunks(handle, buffer, Buffer.from(key, 'latin1'));
    } finally {
      if (this.#spare.length < SPARE_BUFFERS) this.#spare.push(buffer);
      await handle.close();
    }
  }
}

/**
 * Reads `handle` into `buffer` until the row holding `key` is complete or the file ends. Between
 * reads, searching resumes `key.length - 1` bytes before the end, so that a key split across two
 * reads is found; a full buffer keeps only that tail (or the found row so far).
 */
async function searchChunks(
  handle: fs.FileHandle,
  buffer: Buffer,
  key: Buffer,
): Promise<number | undefined> {
  let filled = 0;
  let from = 0;
  let found = -1;
  for (let reads = 0; reads < MAX_READS; reads++) {
    if (filled === buffer.length) {
      const keep = found >= 0 ? filled - found : Math.min(filled, key.length - 1);
      if (keep >= buffer.length) return undefined;
      buffer.copy(buffer, 0, filled - keep, filled);
      filled = keep;
      from = 0;
      if (found >= 0) found = 0;
    }
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, null);
    const ended = bytesRead === 0;
    filled += bytesRead;
    const view = buffer.subarray(0, filled);
    if (found < 0) {
      found = view.indexOf(key, from);
      from = Math.max(0, filled - key.length + 1);
    }
    if (found >= 0) {
      const start = found + key.length;
      const end = view.indexOf(NEWLINE, start);
      if (end >= 0 || ended) {
        return uidAfterEndpoints(view.toString('latin1', start, end < 0 ? filled : end));
      }
    }
    if (ended) return undefined;
  }
  return undefined;
}
