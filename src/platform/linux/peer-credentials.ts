/** Linux: the uid owning the other end of a local TCP connection, from /proc/net/tcp{,6}. */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { PeerCredentials, TcpEndpoint } from '../types.js';
import { canonicalIp, parseProcNetTcp } from './proc-net-tcp.js';

export interface LinuxPeerCredentialsOptions {
  /** Where /proc is mounted: `/` normally; tests may point elsewhere. */
  readonly root?: string;
  readonly readFile?: (file: string) => Promise<string>;
}

export class LinuxPeerCredentials implements PeerCredentials {
  readonly #root: string;
  readonly #readFile: (file: string) => Promise<string>;

  constructor(options: LinuxPeerCredentialsOptions = {}) {
    this.#root = options.root ?? '/';
    this.#readFile = options.readFile ?? ((file) => fs.readFile(file, 'utf8'));
  }

  async uidOf(peer: TcpEndpoint, local: TcpEndpoint): Promise<number | undefined> {
    const peerAddress = canonicalIp(peer.address);
    const localAddress = canonicalIp(local.address);
    // An IPv4 connection to a dual-stack socket shows in tcp6 on one side and tcp on the other:
    // read both tables.
    for (const table of ['tcp', 'tcp6']) {
      let text: string;
      try {
        text = await this.#readFile(path.join(this.#root, 'proc/net', table));
      } catch {
        continue;
      }
      for (const row of parseProcNetTcp(text)) {
        if (
          row.local.port === peer.port &&
          row.remote.port === local.port &&
          row.local.address === peerAddress &&
          row.remote.address === localAddress
        ) {
          return row.uid;
        }
      }
    }
    return undefined;
  }
}
