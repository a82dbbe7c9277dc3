/**
 * Linux: the uid owning one TCP socket, asked of the kernel by its exact four-tuple over
 * NETLINK_SOCK_DIAG (sock_diag(7)): a request without NLM_F_DUMP makes the kernel look the socket
 * up in its connection hash, so the answer costs the same however many sockets (TIME_WAIT ones
 * included) the machine holds — unlike /proc/net/tcp, which the kernel prints by walking every
 * bucket of that hash. Netlink sockets come from the optional `netlink` package (a native addon
 * with prebuilt binaries); without it `SockDiag.open()` resolves to undefined and callers read
 * /proc instead.
 */
import net from 'node:net';
import type { TcpEndpoint } from '../types.js';
import { canonicalIp, endpointBytes } from './proc-net-tcp.js';

const NETLINK_SOCK_DIAG = 4;
const SOCK_DIAG_BY_FAMILY = 20;
const NLMSG_ERROR = 2;
const AF_INET = 2;
const AF_INET6 = 10;
const IPPROTO_TCP = 6;
const ENOENT = 2;
/** struct inet_diag_req_v2: family, protocol, ext, pad, states, then struct inet_diag_sockid. */
const REQUEST_BYTES = 56;
/** struct inet_diag_msg: family, state, timer, retrans, sockid (48), expires, rqueue, wqueue, uid. */
const UID_OFFSET = 64;
const REQUEST_TIMEOUT_MS = 2_000;

/** What this module uses of the `netlink` package. */
interface NetlinkMessage {
  readonly type: number;
  readonly data: Buffer;
}
interface NetlinkSocket {
  request(
    type: number,
    data: Uint8Array,
    options: { timeout?: number; checkError?: boolean },
  ): Promise<[NetlinkMessage[], unknown]>;
  close(): void;
}
interface NetlinkModule {
  readonly createNetlink?: (protocol: number, options?: { ref?: boolean }) => NetlinkSocket;
}

export class SockDiag {
  readonly #socket: NetlinkSocket;

  private constructor(socket: NetlinkSocket) {
    this.#socket = socket;
  }

  /** A sock_diag netlink socket, or undefined where the package or the kernel cannot give one. */
  static async open(): Promise<SockDiag | undefined> {
    if (process.platform !== 'linux') return undefined;
    // A specifier in a variable: the package is optional, and its typings are not needed.
    const specifier = 'netlink';
    try {
      const module = (await import(specifier)) as NetlinkModule & {
        readonly default?: NetlinkModule;
      };
      const create = module.createNetlink ?? module.default?.createNetlink;
      if (typeof create !== 'function') return undefined;
      // Unreferenced: an idle lookup socket does not keep the process alive.
      return new SockDiag(create(NETLINK_SOCK_DIAG, { ref: false }));
    } catch {
      return undefined;
    }
  }

  /**
   * The uid of the TCP socket whose local end is `local` and remote end `remote`; undefined when
   * the kernel has no such socket. Throws when the kernel could not be asked.
   */
  async uidOf(local: TcpEndpoint, remote: TcpEndpoint): Promise<number | undefined> {
    const request = inetDiagRequest(local, remote);
    if (request === undefined) return undefined;
    const [messages] = await this.#socket.request(SOCK_DIAG_BY_FAMILY, request, {
      timeout: REQUEST_TIMEOUT_MS,
      checkError: false,
    });
    const reply = messages[0];
    if (reply === undefined) throw new Error('sock_diag gave no answer');
    if (reply.type === NLMSG_ERROR) {
      const errno = -reply.data.readInt32LE(0);
      if (errno === ENOENT) return undefined;
      throw new Error(`sock_diag refused the lookup (errno ${errno})`);
    }
    if (reply.type !== SOCK_DIAG_BY_FAMILY || reply.data.length < UID_OFFSET + 4) {
      throw new Error(`sock_diag answered with message type ${reply.type}`);
    }
    return reply.data.readUInt32LE(UID_OFFSET);
  }

  close(): void {
    this.#socket.close();
  }
}

/**
 * An exact-match inet_diag_req_v2 for the TCP socket (local → remote), any state, no cookie
 * check: the kernel finds it by hash lookup. IPv4 addresses (v4-mapped ones too) are asked as
 * AF_INET, where the kernel hashes them whichever family the socket has.
 */
export function inetDiagRequest(local: TcpEndpoint, remote: TcpEndpoint): Buffer | undefined {
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
  b.writeUInt8(IPPROTO_TCP, 1);
  b.writeUInt32LE(0xffffffff, 4); // every TCP state
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
