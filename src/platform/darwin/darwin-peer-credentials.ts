/**
 * macOS: the uid owning the other end of a local TCP connection, or the local UDP socket a
 * datagram came from, from `lsof -F pun` (our own process is left out).
 */
import { hostPort, parseHostPort, canonicalIp } from '../../lib/index.js';
import type { CommandRunner } from '../command-runner.js';
import type { PeerCredentials, TcpEndpoint } from '../types.js';

/** One socket of an `lsof -F pun` listing: its owner and its `n` field (`from[->to]`). */
interface ListedSocket {
  readonly uid: number;
  readonly from: string;
  readonly to: string | undefined;
}

export class DarwinPeerCredentials implements PeerCredentials {
  readonly #runner: CommandRunner;
  readonly #ownPid: number;

  constructor(options: { readonly runner: CommandRunner; readonly ownPid?: number }) {
    this.#runner = options.runner;
    this.#ownPid = options.ownPid ?? process.pid;
  }

  /** Over the connection's peer endpoint: both ends match. */
  async uidOf(peer: TcpEndpoint, local: TcpEndpoint): Promise<number | undefined> {
    for (const socket of await this.#list(`-iTCP@${hostPort(peer.address, peer.port)}`)) {
      // The peer's socket: its local end is `peer`, its remote end is our `local` port.
      if (socket.from.endsWith(`:${peer.port}`) && socket.to?.endsWith(`:${local.port}`) === true)
        return socket.uid;
    }
    return undefined;
  }

  /**
   * Over the peer's port: a DNS client's socket is seldom connected, and lsof then shows only
   * its bound end (`*:port` for the wildcard). A socket connected to our side wins; else one
   * bound to the peer's address or the wildcard. Two owners that fit: unknown.
   */
  async uidOfUdp(peer: TcpEndpoint, local: TcpEndpoint): Promise<number | undefined> {
    const connected = new Set<number>();
    const bound = new Set<number>();
    const address = bare(peer.address);
    for (const socket of await this.#list(`-iUDP:${peer.port}`)) {
      const at = socket.from.lastIndexOf(':');
      if (socket.from.slice(at + 1) !== String(peer.port)) continue;
      const host = bare(socket.from.slice(0, at));
      if (host !== '*' && host !== address) continue;
      if (socket.to === undefined) bound.add(socket.uid);
      else if (socket.to.endsWith(`:${local.port}`)) connected.add(socket.uid);
    }
    const fit = connected.size > 0 ? connected : bound;
    return fit.size === 1 ? [...fit][0] : undefined;
  }

  async #list(selector: string): Promise<ListedSocket[]> {
    const { stdout } = await this.#runner.run('lsof', ['-nP', selector, '-F', 'pun'], {
      okExitCodes: [1],
    });
    const sockets: ListedSocket[] = [];
    let pid = 0;
    let uid: number | undefined;
    for (const line of stdout.split('\n')) {
      const value = line.slice(1);
      if (line.startsWith('p')) pid = Number(value);
      else if (line.startsWith('u')) uid = Number(value);
      else if (line.startsWith('n') && pid !== this.#ownPid && uid !== undefined) {
        const [from = '', to] = value.split('->');
        sockets.push({ uid, from, to });
      }
    }
    return sockets;
  }
}

/** An address as lsof prints it (`[fe80::1]`, `10.0.0.1`, `*`) without brackets, canonical. */
function bare(address: string): string {
  return canonicalIp(parseHostPort(address).host);
}
