/**
 * Who asked a DNS query: the local OS user owning the socket it came from (UDP: the socket the
 * answer goes to; TCP: the connection's other end). The proxy asks only when a query needs a
 * session (an alias not reachable yet, an unlisted name to try), never for answers from memory,
 * and gives up after a short time. Undefined (unknown) when no socket on this machine sent it
 * (another host or network namespace), or the lookup failed or was too slow. A local forwarder
 * (systemd-resolved's stub, dnsmasq, a container runtime's resolver) is the asker itself: its own
 * uid, not the user whose program asked it.
 */
import type { Clock } from '../../lib/index.js';
import type { PeerCredentials, TcpEndpoint } from '../../platform/index.js';

/** Where a query came from and to (a DNS query has these fields). */
export interface QueryOrigin {
  readonly transport: 'udp' | 'tcp';
  readonly client: TcpEndpoint;
  /** The agent's end: the address and port the query came to. */
  readonly server: TcpEndpoint;
}

/** The uid that asked, or undefined when it cannot be told. Never rejects. */
export type QueryAsker = (origin: QueryOrigin) => Promise<number | undefined>;

/**
 * Far above what a sock_diag lookup or an lsof run takes; a lookup this slow leaves the asker
 * unknown rather than hold the answer up to dns_request_timeout.
 */
export const ASKER_LOOKUP_MS = 500;

export interface QueryAskerOptions {
  readonly peers: Pick<PeerCredentials, 'uidOf' | 'uidOfUdp'>;
  readonly clock: Clock;
  /** Default ASKER_LOOKUP_MS. */
  readonly timeoutMs?: number;
}

export function queryAsker(options: QueryAskerOptions): QueryAsker {
  const { peers, clock } = options;
  const ms = options.timeoutMs ?? ASKER_LOOKUP_MS;
  return (origin) =>
    new Promise((resolve) => {
      const timer = clock.setTimeout(() => {
        resolve(undefined);
      }, ms);
      const settle = (uid: number | undefined): void => {
        timer.cancel();
        resolve(uid);
      };
      let lookup: Promise<number | undefined>;
      try {
        lookup =
          origin.transport === 'udp'
            ? peers.uidOfUdp(origin.client, origin.server)
            : peers.uidOf(origin.client, origin.server);
      } catch {
        settle(undefined);
        return;
      }
      lookup.then(settle, () => {
        settle(undefined);
      });
    });
}
