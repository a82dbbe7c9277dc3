/** Address arithmetic the platform code needs: prefix overlap and the DNS server's own addresses. */
import net from 'node:net';
import { Address4, Address6 } from 'ip-address';
import type { IpPrefix } from '../config/index.js';
import { compressedIp } from '../lib/index.js';

/** Do two CIDRs (or a CIDR and a host address) share any address? Different families never do. */
export function overlaps(a: string, b: string): boolean {
  const pa = parse(a);
  const pb = parse(b);
  if (pa?.v4 === true && pb?.v4 === true) return pa.a4.isInSubnet(pb.a4) || pb.a4.isInSubnet(pa.a4);
  if (pa?.v4 === false && pb?.v4 === false)
    return pa.a6.isInSubnet(pb.a6) || pb.a6.isInSubnet(pa.a6);
  return false;
}

/**
 * The phrases of the addresses and routes that overlap `prefix`, leaving out the addresses in
 * `ignore` (the agent's own) and host routes (/32, /128) to them.
 */
export function overlapping(
  prefix: IpPrefix,
  ignore: readonly string[],
  addresses: readonly { readonly address: string; readonly text: string }[],
  routes: readonly { readonly cidr: string; readonly text: string }[],
): string[] {
  const own = new Set(ignore.map((a) => compressedIp(a)));
  const hostRoute = (cidr: string): boolean => {
    const [address = '', length] = cidr.split('/');
    return (
      own.has(compressedIp(address)) &&
      (length === undefined || Number(length) === hostLength(address))
    );
  };
  return [
    ...addresses
      .filter((a) => !own.has(compressedIp(a.address)) && overlaps(a.address, prefix.cidr))
      .map((a) => a.text),
    ...routes.filter((r) => !hostRoute(r.cidr) && overlaps(r.cidr, prefix.cidr)).map((r) => r.text),
  ];
}

type Parsed = { v4: true; a4: Address4 } | { v4: false; a6: Address6 };

function parse(cidr: string): Parsed | undefined {
  const host = cidr.split('/')[0] ?? '';
  const family = net.isIP(host);
  try {
    if (family === 4) return { v4: true, a4: new Address4(cidr) };
    if (family === 6) return { v4: false, a6: new Address6(cidr) };
  } catch {
    return undefined;
  }
  return undefined;
}

/**
 * The DNS server's addresses: the first usable address of `v4_prefix` (`100.64.0.1` for the
 * default) and `::53` in the ULA prefix (`fd62:6f75:6e64::53`). The proxy allocator must treat
 * them as taken (the daemon passes them in the profile's `dnsAddresses`).
 */
export function dnsAddressesFor(v4Prefix: IpPrefix, v6Prefix: IpPrefix | null): string[] {
  const v4 = v4Prefix.network.split('.').map(Number);
  v4[3] = (v4[3] ?? 0) + 1;
  const addresses = [v4.join('.')];
  if (v6Prefix !== null) {
    const base = new Address6(v6Prefix.network).bigInt();
    addresses.push(Address6.fromBigInt(base + 0x53n).correctForm());
  }
  return addresses;
}

/** `/32` or `/128`: the host prefix length of an address. */
export function hostLength(ip: string): 32 | 128 {
  return net.isIPv6(ip) ? 128 : 32;
}
