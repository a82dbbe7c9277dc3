/**
 * Whether an IP address belongs to this machine: loopback (127.0.0.0/8, ::1) or an address on
 * one of its interfaces. Asked for every DNS query and every proxied connection, so the answer
 * comes from memory: the interface list is read again only when it is older than `maxAgeMs`, or
 * on a miss at most once per `missRefreshMs` (an address the agent just added is found at once;
 * a flood of foreign addresses costs one read a second).
 */
import os from 'node:os';
import { type Clock, canonicalIp } from '../lib/index.js';

export interface LocalAddressesOptions {
  readonly clock: Clock;
  /** The interface list (Node's os.networkInterfaces by default). */
  readonly list?: () => NodeJS.Dict<os.NetworkInterfaceInfo[]>;
  /** Re-read at most this often on a miss; default 1 s. */
  readonly missRefreshMs?: number;
  /** Re-read when the list is older than this, so removed addresses go; default 10 s. */
  readonly maxAgeMs?: number;
}

export class LocalAddresses {
  readonly #clock: Clock;
  readonly #list: () => NodeJS.Dict<os.NetworkInterfaceInfo[]>;
  readonly #missRefreshMs: number;
  readonly #maxAgeMs: number;
  #addresses = new Set<string>();
  #readAt = Number.NEGATIVE_INFINITY;

  constructor(options: LocalAddressesOptions) {
    this.#clock = options.clock;
    this.#list = options.list ?? os.networkInterfaces;
    this.#missRefreshMs = options.missRefreshMs ?? 1_000;
    this.#maxAgeMs = options.maxAgeMs ?? 10_000;
  }

  /** True when `address` (as a socket reports it: v4-mapped or with a zone is fine) is ours. */
  has(address: string): boolean {
    const ip = canonicalIp(address);
    if (ip.startsWith('127.') || ip === '::1') return true;
    const now = this.#clock.monotonic();
    if (now - this.#readAt >= this.#maxAgeMs) this.#read(now);
    if (this.#addresses.has(ip)) return true;
    if (now - this.#readAt < this.#missRefreshMs) return false;
    this.#read(now);
    return this.#addresses.has(ip);
  }

  /** An address just put on the machine (by the agent): known at once, before any re-read. */
  add(address: string): void {
    this.#addresses.add(canonicalIp(address));
  }

  #read(now: number): void {
    this.#addresses = machineAddresses(this.#list);
    this.#readAt = now;
  }
}

/** Every address on this machine's interfaces now, as `LocalAddresses.has` compares them. */
export function machineAddresses(
  list: () => NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces,
): Set<string> {
  const addresses = new Set<string>();
  for (const infos of Object.values(list())) {
    for (const info of infos ?? []) addresses.add(canonicalIp(info.address));
  }
  return addresses;
}
