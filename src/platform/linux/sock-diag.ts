/**
 * Linux: the uid owning one TCP or UDP socket, asked of the kernel by its exact four-tuple over
 * NETLINK_SOCK_DIAG (sock_diag(7)): a request without NLM_F_DUMP makes the kernel look the socket
 * up in its connection hash, so the answer costs the same however many sockets (TIME_WAIT ones
 * included) the machine holds — unlike /proc/net/tcp, which the kernel prints by walking every
 * bucket of that hash. The kernel answers while handling the request, so the addon in
 * native/sock-diag asks and reads the answer in one synchronous call (no turn of the event
 * loop). Where the addon is not built `SockDiag.open()` gives undefined and
 * callers read /proc instead.
 */
import { createRequire } from 'node:module';
import net from 'node:net';
import { canonicalIp } from '../../lib/index.js';
import type { TcpEndpoint } from '../types.js';
import { endpointBytes } from './proc-net-tcp.js';

const AF_INET = 2;
const AF_INET6 = 10;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const ENOENT = 2;
/** struct inet_diag_req_v2: family, protocol, ext, pad, states, then struct inet_diag_sockid. */
const REQUEST_BYTES = 56;
/** The built addon (it carries net_link.c too). */
export const ADDON_PATH = '../../../native/sock-diag/build/Release/sock_diag.node';

/** The addon's exports (native/sock-diag/src/sock_diag.c). */
export interface SockDiagAddon {
  open(): unknown;
  /** The socket's uid, or a negative errno the kernel answered with (-ENOENT: no such socket). */
  query(handle: unknown, request: Buffer): number;
  close(handle: unknown): void;
}

/** The addon, or undefined where it is not built (not Linux, or `npm ci` had no C compiler). */
export function loadSockDiag(): SockDiagAddon | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    return createRequire(import.meta.url)(ADDON_PATH) as SockDiagAddon;
  } catch {
    return undefined;
  }
}

export class SockDiag {
  readonly #addon: SockDiagAddon;
  readonly #handle: unknown;

  private constructor(addon: SockDiagAddon, handle: unknown) {
    this.#addon = addon;
    this.#handle = handle;
  }

  /** A sock_diag socket, or undefined where the addon or the kernel cannot give one. */
  static open(load: () => SockDiagAddon | undefined = loadSockDiag): SockDiag | undefined {
    const addon = load();
    if (addon === undefined) return undefined;
    try {
      return new SockDiag(addon, addon.open());
    } catch {
      return undefined;
    }
  }

  /**
   * The uid of the TCP socket whose local end is `local` and remote end `remote`; undefined when
   * the kernel has no such socket. Throws when the kernel could not be asked.
   */
  uidOf(local: TcpEndpoint, remote: TcpEndpoint): number | undefined {
    return this.#ask(inetDiagRequest(local, remote));
  }

  /**
   * The uid of the UDP socket that receives a datagram sent from `from` to `to`: a socket
   * connected to `from` at `to`, else one bound to `to` (its address or the wildcard). The
   * kernel's UDP lookup reads the request's source as the datagram's sender and its destination
   * as the receiving socket's end (Linux net/ipv4/udp_diag.c, `udp_dump_one`: "src and dst are
   * swapped"), the other way round from TCP. Undefined when no socket would receive it.
   */
  uidOfUdpReceiver(from: TcpEndpoint, to: TcpEndpoint): number | undefined {
    return this.#ask(inetDiagRequest(from, to, IPPROTO_UDP));
  }

  #ask(request: Buffer | undefined): number | undefined {
    if (request === undefined) return undefined;
    const answer = this.#addon.query(this.#handle, request);
    if (answer >= 0) return answer;
    if (answer === -ENOENT) return undefined;
    throw new Error(`sock_diag refused the lookup (errno ${-answer})`);
  }

  close(): void {
    this.#addon.close(this.#handle);
  }
}

/**
 * An exact-match inet_diag_req_v2 with `local` as the source and `remote` as the destination
 * (for TCP: the socket's own end and its peer's), any state, no cookie check: the kernel finds
 * the socket by hash lookup. IPv4 addresses (v4-mapped ones too) are asked as AF_INET, where the
 * kernel hashes them whichever family the socket has.
 */
export function inetDiagRequest(
  local: TcpEndpoint,
  remote: TcpEndpoint,
  protocol: number = IPPROTO_TCP,
): Buffer | undefined {
  const l = canonicalIp(local.address);
  const r = canonicalIp(remote.address);
  const v4 = net.isIPv4(l) && net.isIPv4(r);
  const family = v4 ? 4 : 6;
  const src = endpointBytes(l, family);
  const dst = endpointBytes(r, family);
  if (src === undefined || dst === undefined || !port(local.port) || !port(remote.port)) {
    return undefined;
  }
  const b = Buffer.alloc(REQUEST_BYTES);
  b.writeUInt8(v4 ? AF_INET : AF_INET6, 0);
  b.writeUInt8(protocol, 1);
  b.writeUInt32LE(0xffffffff, 4); // every state
  b.writeUInt16BE(local.port, 8);
  b.writeUInt16BE(remote.port, 10);
  Buffer.from(src).copy(b, 12);
  Buffer.from(dst).copy(b, 28);
  b.writeUInt32LE(0, 44); // any interface
  b.writeUInt32LE(0xffffffff, 48); // INET_DIAG_NOCOOKIE
  b.writeUInt32LE(0xffffffff, 52);
  return b;
}

function port(p: number): boolean {
  return Number.isInteger(p) && p >= 0 && p <= 0xffff;
}
