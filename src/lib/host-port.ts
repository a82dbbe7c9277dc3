/** `host:port` text with IPv6 addresses in brackets, as URLs, DNS tools and lsof write it. */
import net from 'node:net';

/** The host in brackets when it is an IPv6 address (only IPv6 has a colon in it). */
export function bracketHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** `127.0.0.1:53`, `[fd00::53]:53`, `worker.corp:9202`. */
export function hostPort(host: string, port: number | string): string {
  return `${bracketHost(host)}:${port}`;
}

/**
 * `host:port`, `[v6]:port`, `[v6]`, a bare IPv6 address or a bare host, split into the host
 * (brackets removed) and the port text as written, undefined when there is none. Neither is
 * checked: callers differ in what they accept and in what they say when it is wrong.
 */
export function parseHostPort(text: string): HostPortText {
  const inBrackets = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
  if (inBrackets) return { host: inBrackets[1] ?? '', port: inBrackets[2], bracketed: true };
  const colon = text.lastIndexOf(':');
  // A bare IPv6 address has colons but no port.
  if (colon < 0 || net.isIPv6(text)) return { host: text, port: undefined, bracketed: false };
  return { host: text.slice(0, colon), port: text.slice(colon + 1), bracketed: false };
}

export interface HostPortText {
  readonly host: string;
  readonly port: string | undefined;
  /** The host was written in brackets (`[fd00::1]:53`). */
  readonly bracketed: boolean;
}
