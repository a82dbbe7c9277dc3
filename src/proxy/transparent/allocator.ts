/**
 * Stable proxy addresses: each alias gets one IPv4 from v4_prefix and, when IPv6 is on, one
 * IPv6 from v6_prefix, the first time it is answered, and keeps them for the daemon's life (and
 * across a crash restart, through export() and the `saved` option). A new address is found
 * from a random start by probing upwards, skipping the network and broadcast addresses and any
 * address the injected `isTaken` reports (the DNS server's own, those already on the machine).
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Address6 } from 'ip-address';
import type { Logger } from 'pino';
import type { IpPrefix } from '../../config/index.js';
import { AgentError } from '../../lib/index.js';

export interface AssignedAddresses {
  readonly v4: string;
  /** Absent when IPv6 is off. */
  readonly v6?: string;
}

export interface IpAllocator {
  assign(alias: string): AssignedAddresses;
  aliasFor(ip: string): string | undefined;
  /** Whether `ip` is inside the ranges addresses are handed out from (v4_prefix, v6_prefix). */
  owns(ip: string): boolean;
}

/** What the state file keeps: alias → address, per family. */
export interface SavedAddresses {
  readonly v4: Readonly<Record<string, string>>;
  readonly v6: Readonly<Record<string, string>>;
}

export interface AllocatorOptions {
  readonly v4Prefix: IpPrefix;
  /** null: IPv6 is off; aliases get no IPv6 address. */
  readonly v6Prefix: IpPrefix | null;
  /** A uniformly random integer in [0, limit); `cryptoRandom` in production. */
  readonly random: (limit: bigint) => bigint;
  /** Addresses never to hand out: the DNS server's own, and those present on the machine. */
  readonly isTaken: (ip: string) => boolean;
  /** Assignments saved by a previous run, restored where still valid. */
  readonly saved?: SavedAddresses | undefined;
  readonly log?: Logger | undefined;
}

/** No free address is left in a prefix. */
export class AddressPoolFullError extends AgentError {
  constructor(prefix: string, detail: string) {
    super('proxy.address_pool_full', `no free proxy address is left in ${prefix}: ${detail}`, {
      hint: 'Use a larger v4_prefix / v6_prefix, or free addresses of the machine inside it.',
    });
  }
}

/** At most this many addresses are probed for one assignment before giving up. */
const MAX_PROBES = 1n << 20n;

export function cryptoRandom(limit: bigint): bigint {
  return BigInt(`0x${randomBytes(16).toString('hex')}`) % limit;
}

function v4ToBig(ip: string): bigint {
  return ip.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function bigToV4(n: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join('.');
}

/** One family's addresses: a prefix and the assignments in both directions. */
class Pool {
  readonly byAlias = new Map<string, string>();
  readonly byIp = new Map<string, string>();
  readonly #network: bigint;
  readonly #size: bigint;
  readonly #family: 4 | 6;

  constructor(
    readonly prefix: IpPrefix,
    family: 4 | 6,
  ) {
    this.#family = family;
    this.#network = family === 4 ? v4ToBig(prefix.network) : new Address6(prefix.network).bigInt();
    this.#size = 1n << BigInt((family === 4 ? 32 : 128) - prefix.length);
  }

  format(n: bigint): string {
    return this.#family === 4 ? bigToV4(n) : Address6.fromBigInt(n).correctForm();
  }

  /** The canonical text of an address of this family, or undefined. */
  canonical(ip: string): string | undefined {
    if (net.isIP(ip) !== this.#family) return undefined;
    return this.#family === 4 ? ip : new Address6(ip).correctForm();
  }

  /** Whether an address may be handed out at all: inside, not network, not broadcast. */
  usable(ip: string): boolean {
    const offset = this.#offset(ip);
    if (offset <= 0n || offset >= this.#size) return false;
    return !(this.#family === 4 && offset === this.#size - 1n);
  }

  /** Whether a canonical address of this family is inside the prefix (network and broadcast too). */
  contains(ip: string): boolean {
    const offset = this.#offset(ip);
    return offset >= 0n && offset < this.#size;
  }

  #offset(ip: string): bigint {
    return (this.#family === 4 ? v4ToBig(ip) : new Address6(ip).bigInt()) - this.#network;
  }

  get capacity(): bigint {
    return this.#size - (this.#family === 4 ? 2n : 1n);
  }

  take(alias: string, random: (limit: bigint) => bigint, isTaken: (ip: string) => boolean): string {
    if (BigInt(this.byAlias.size) >= this.capacity) {
      throw new AddressPoolFullError(
        this.prefix.cidr,
        `all ${this.capacity} addresses are assigned`,
      );
    }
    const start = random(this.#size);
    const probes = this.#size < MAX_PROBES ? this.#size : MAX_PROBES;
    for (let i = 0n; i < probes; i++) {
      const ip = this.format(this.#network + ((start + i) % this.#size));
      if (!this.usable(ip) || this.byIp.has(ip) || isTaken(ip)) continue;
      this.set(alias, ip);
      return ip;
    }
    throw new AddressPoolFullError(
      this.prefix.cidr,
      `${probes} addresses probed, all assigned or already in use on this machine`,
    );
  }

  set(alias: string, ip: string): void {
    this.byAlias.set(alias, ip);
    this.byIp.set(ip, alias);
  }
}

export class AddressAllocator implements IpAllocator {
  readonly #random: (limit: bigint) => bigint;
  readonly #isTaken: (ip: string) => boolean;
  readonly #log: Logger | undefined;
  #v4: Pool;
  readonly #v6: Pool | undefined;

  constructor(options: AllocatorOptions) {
    this.#random = options.random;
    this.#isTaken = options.isTaken;
    this.#log = options.log;
    this.#v4 = new Pool(options.v4Prefix, 4);
    this.#v6 = options.v6Prefix === null ? undefined : new Pool(options.v6Prefix, 6);
    if (options.saved !== undefined) this.#restore(options.saved);
  }

  assign(alias: string): AssignedAddresses {
    const lower = alias.toLowerCase();
    const key = lower.endsWith('.') ? lower.slice(0, -1) : lower;
    const v4 = this.#v4.byAlias.get(key) ?? this.#v4.take(key, this.#random, this.#isTaken);
    if (this.#v6 === undefined) return { v4 };
    const v6 = this.#v6.byAlias.get(key) ?? this.#v6.take(key, this.#random, this.#isTaken);
    return { v4, v6 };
  }

  aliasFor(ip: string): string | undefined {
    for (const pool of [this.#v4, this.#v6]) {
      const canonical = pool?.canonical(ip);
      if (canonical !== undefined) return pool?.byIp.get(canonical);
    }
    return undefined;
  }

  owns(ip: string): boolean {
    for (const pool of [this.#v4, this.#v6]) {
      const canonical = pool?.canonical(ip);
      if (canonical !== undefined) return pool?.contains(canonical) === true;
    }
    return false;
  }

  /** Every assignment, for the state file. */
  export(): SavedAddresses {
    return {
      v4: Object.fromEntries(this.#v4.byAlias),
      v6: Object.fromEntries(this.#v6?.byAlias ?? []),
    };
  }

  /**
   * Applies a reloaded v4_prefix: assignments outside the new prefix are dropped (those aliases
   * get a new address when next answered); the others stay.
   */
  setV4Prefix(prefix: IpPrefix): void {
    if (prefix.cidr === this.#v4.prefix.cidr) return;
    const old = this.#v4;
    this.#v4 = new Pool(prefix, 4);
    for (const [alias, ip] of old.byAlias) {
      if (this.#v4.usable(ip)) this.#v4.set(alias, ip);
    }
  }

  #restore(saved: SavedAddresses): void {
    const families: [Pool | undefined, Readonly<Record<string, string>>][] = [
      [this.#v4, saved.v4],
      [this.#v6, saved.v6],
    ];
    for (const [pool, entries] of families) {
      if (pool === undefined) continue;
      for (const [alias, ip] of Object.entries(entries)) {
        const canonical = pool.canonical(ip);
        const problem =
          canonical === undefined || !pool.usable(canonical)
            ? `is not a usable address of ${pool.prefix.cidr}`
            : pool.byIp.has(canonical) || pool.byAlias.has(alias)
              ? 'is a duplicate'
              : this.#isTaken(canonical)
                ? 'is now in use on this machine'
                : undefined;
        if (problem === undefined && canonical !== undefined) {
          pool.set(alias, canonical);
        } else {
          this.#log?.warn({ alias, ip }, `A saved proxy address ${problem ?? ''}; not restored.`);
        }
      }
    }
  }
}

/**
 * One IPv4 address for every alias and no IPv6: the macOS demo without root, where 127.0.0.1 is
 * the only loopback address. Aliases are then told apart by port alone (the listeners refuse a
 * second alias on the same port, saying which one holds it).
 */
export class SharedAddressAllocator implements IpAllocator {
  constructor(readonly address: string) {}

  assign(): AssignedAddresses {
    return { v4: this.address };
  }

  aliasFor(): undefined {
    return undefined;
  }

  /** The shared address is told apart by port alone: no address names one alias. */
  owns(): false {
    return false;
  }

  /** Nothing to keep across a restart. */
  export(): SavedAddresses {
    return { v4: {}, v6: {} };
  }

  /** The shared address does not come from v4_prefix. */
  setV4Prefix(): void {
    // nothing to move
  }
}

/** The allocator a profile asks for: one shared address (`shared`), else addresses from the prefixes. */
export function createAllocator(
  options: Omit<AllocatorOptions, 'random'> & { readonly shared?: string | undefined },
): AddressAllocator | SharedAddressAllocator {
  const { shared, ...prefixes } = options;
  return shared === undefined
    ? new AddressAllocator({ ...prefixes, random: cryptoRandom })
    : new SharedAddressAllocator(shared);
}
