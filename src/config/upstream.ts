/** Upstream DNS servers written as `ip`, `ip:port`, `[v6]` or `[v6]:port` (port 53 by default). */
import net from 'node:net';
import { hostPort, parseHostPort } from '../lib/index.js';

export interface UpstreamServer {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
}

export const DNS_PORT = 53;

/** The server, or a sentence saying what is wrong with `text`. */
export function parseUpstream(text: string): UpstreamServer | string {
  const value = text.trim();
  const { host, port: portText, bracketed } = parseHostPort(value);
  if (bracketed && !net.isIPv6(host)) {
    return `"${host}" inside brackets is not an IPv6 address`;
  }
  const family = net.isIP(host);
  if (family === 0) {
    return /[a-z]/i.test(host)
      ? `"${host}" is a host name; upstream servers must be IP addresses, because the agent itself is the resolver`
      : `"${host}" is not an IP address`;
  }
  if (host === '0.0.0.0' || host === '::') {
    return `"${host}" is the unspecified address, not a DNS server`;
  }
  let port = DNS_PORT;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      return `port "${portText}" must be a number from 1 to 65535`;
    }
    port = Number(portText);
  }
  return { address: host.toLowerCase(), port, family: family === 4 ? 4 : 6 };
}

export function formatUpstream(server: UpstreamServer): string {
  return hostPort(server.address, server.port);
}
