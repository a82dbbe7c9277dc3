/** The resolvers a machine uses, from the `nameserver` lines of /etc/resolv.conf. */
import net from 'node:net';
import { DNS_PORT, type UpstreamServer } from '../../config/index.js';

export function parseResolvConf(text: string): UpstreamServer[] {
  const servers: UpstreamServer[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    // A link-local IPv6 with a zone (fe80::1%eth0) cannot be used from Node's sockets as is.
    const address = m?.[1]?.toLowerCase();
    if (address === undefined || address.includes('%')) continue;
    const family = net.isIP(address);
    if (family === 0) continue;
    servers.push({ address, port: DNS_PORT, family: family === 4 ? 4 : 6 });
  }
  return servers;
}
