/**
 * macOS: the uid owning the other end of a local TCP connection, from `lsof -F pu` over the
 * connection's peer endpoint (both ends match; our own process is left out).
 */
import type { CommandRunner } from '../command-runner.js';
import type { PeerCredentials, TcpEndpoint } from '../types.js';

export class DarwinPeerCredentials implements PeerCredentials {
  readonly #runner: CommandRunner;
  readonly #ownPid: number;

  constructor(options: { readonly runner: CommandRunner; readonly ownPid?: number }) {
    this.#runner = options.runner;
    this.#ownPid = options.ownPid ?? process.pid;
  }

  async uidOf(peer: TcpEndpoint, local: TcpEndpoint): Promise<number | undefined> {
    const host = peer.address.includes(':') ? `[${peer.address}]` : peer.address;
    const { stdout } = await this.#runner.run(
      'lsof',
      ['-nP', `-iTCP@${host}:${peer.port}`, '-F', 'pun'],
      { okExitCodes: [1] },
    );
    let pid = 0;
    let uid: number | undefined;
    for (const line of stdout.split('\n')) {
      const value = line.slice(1);
      if (line.startsWith('p')) pid = Number(value);
      else if (line.startsWith('u')) uid = Number(value);
      else if (line.startsWith('n') && pid !== this.#ownPid && uid !== undefined) {
        // The peer's socket: its local end is `peer`, its remote end is our `local` port.
        const [from = '', to = ''] = value.split('->');
        if (from.endsWith(`:${peer.port}`) && to.endsWith(`:${local.port}`)) return uid;
      }
    }
    return undefined;
  }
}
