/** IP address text in one spelling, so that addresses from Node, the kernel and config compare. */
import net from 'node:net';

/**
 * IPv6 as Node prints a socket's address: lower case, the longest run of zero groups compressed,
 * any zone (`%eth0`) dropped, v4-mapped kept (`::ffff:1.2.3.4`). Anything not IPv6 is returned
 * as it is.
 */
export function compressedIp(address: string): string {
  if (!net.isIPv6(address)) return address;
  const zone = address.indexOf('%');
  const bare = zone < 0 ? address : address.slice(0, zone);
  return new net.SocketAddress({ address: bare, family: 'ipv6' }).address;
}

/**
 * One spelling per address, whichever of Node, the kernel or a user wrote it: lower case, IPv6
 * as `compressedIp` gives it, and an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, as a dual-stack
 * socket reports an IPv4 peer) as the plain IPv4 address. Text that is no IP is only lower-cased.
 */
export function canonicalIp(address: string): string {
  const text = compressedIp(address.toLowerCase());
  // Node prints every v4-mapped address with its IPv4 part dotted.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  return mapped?.[1] ?? text;
}
