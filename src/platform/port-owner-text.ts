/** Shared by the port-owner implementations: address matching and the one-line description. */
import type { PortOwner } from './platform.js';
import { canonicalIp } from '../lib/index.js';

const WILDCARDS = new Set(['*', '0.0.0.0', '::', '']);

/** Does a socket bound to `bound` take packets for `address`? (The wildcard takes all.) */
export function addressMatches(bound: string, address: string): boolean {
  return WILDCARDS.has(bound) || canonicalIp(bound) === canonicalIp(address);
}

/** "dnsmasq (pid 812)", several joined with ", ", each process once; undefined for none. */
export function describeOwners(owners: readonly PortOwner[]): string | undefined {
  const seen = new Set<number>();
  const parts: string[] = [];
  for (const o of owners) {
    if (seen.has(o.pid)) continue;
    seen.add(o.pid);
    parts.push(`${o.command} (pid ${o.pid})`);
  }
  return parts.length === 0 ? undefined : parts.join(', ');
}
