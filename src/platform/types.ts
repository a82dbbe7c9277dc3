/** What the rest of the agent needs from the operating system, one interface per concern. */

export interface TcpEndpoint {
  readonly address: string;
  readonly port: number;
}

/**
 * Which local OS user owns the other end of a TCP connection this process accepted, or the UDP
 * socket a datagram it received came from.
 */
export interface PeerCredentials {
  /**
   * The uid of the socket whose local end is `peer` and whose remote end is `local` (our side),
   * or undefined when no socket on this machine matches: the peer is another host.
   */
  uidOf(peer: TcpEndpoint, local: TcpEndpoint): Promise<number | undefined>;
  /**
   * The uid of the UDP socket on this machine that gets what `local` (our side) sends to `peer`:
   * the socket a datagram from `peer` came from, connected or not. Undefined when no socket here
   * does (the sender is another host or network namespace), or when this platform cannot tell.
   */
  uidOfUdp(peer: TcpEndpoint, local: TcpEndpoint): Promise<number | undefined>;
  /** Why lookups take the slow way on this machine (for status warnings); undefined when they do not. */
  slowLookups?(): Promise<string | undefined>;
}
