/**
 * Reverse names (`d.c.b.a.in-addr.arpa`, the 32 nibbles of `ip6.arpa`) of addresses inside
 * v4_prefix / v6_prefix: the agent hands those addresses out, so it answers for them rather
 * than leaking them to the upstream resolvers (which can only fail). ssh, `w` and loggers
 * reverse-resolve the peers they see, as they do Tailscale's 100.x addresses.
 *
 * - an alias's proxy address → PTR to the alias name, authoritative, the TTL of alias answers;
 * - the DNS server's own address → PTR to the probe name, TTL 0 (the probe name's A/AAAA is
 *   that address: forward and reverse agree), answered even while paused, as the probe is;
 * - any other address of the ranges → NXDOMAIN, without an SOA, so that no resolver caches it
 *   (the address may be handed out a moment later);
 * - other types for these names: an empty NOERROR answer (or NXDOMAIN as above).
 *
 * While the agent is paused, everything but its own address goes upstream, as alias names do.
 * Names outside the ranges, partial reverse names and names with odd labels are passed on.
 */
import { Address6 } from 'ip-address';
import type { AliasSnapshot } from '../../alias-cache/index.js';
import { compressedIp } from '../../lib/index.js';
import { encodeAnswer } from '../answer.js';
import type { DnsAnswer, DnsHandler, MaybePromise, Next } from '../handler.js';
import type { Answer } from '../packet.js';
import { hasPlainName, type DnsQuery } from '../query.js';
import { RCODE, setId } from '../wire.js';
import { ALIAS_TTL_SECONDS } from './alias.js';
import { PROBE_NAME } from './probe.js';

/** The proxy side's addresses (structurally: proxy/IpAllocator). */
export interface ProxyAddresses {
  /** The alias an address was handed to, lower case. */
  aliasFor(ip: string): string | undefined;
  /** Whether the address is inside the ranges addresses are handed out from. */
  owns(ip: string): boolean;
}

export interface ReverseHandlerOptions {
  readonly addresses: ProxyAddresses;
  /** The current alias-cache snapshot: an address whose alias is gone answers NXDOMAIN. */
  readonly snapshot: () => AliasSnapshot;
  /** The DNS server's own addresses (as bound). */
  readonly ownAddresses: () => readonly string[];
  /** While true, reverse names of proxy addresses are forwarded, as alias names are. */
  readonly paused?: (() => boolean) | undefined;
  /** TTL of alias PTR answers, seconds (default: that of alias answers). */
  readonly ttlSeconds?: number | undefined;
}

export class ReverseHandler implements DnsHandler {
  readonly name = 'reverse';
  readonly #o: ReverseHandlerOptions;
  readonly #ttl: number;

  constructor(options: ReverseHandlerOptions) {
    this.#o = options;
    this.#ttl = options.ttlSeconds ?? ALIAS_TTL_SECONDS;
  }

  serve(q: DnsQuery, next: Next, signal: AbortSignal): MaybePromise<DnsAnswer> {
    // asked for every query: all but reverse names are ruled out by their last letters
    if (!endsWithArpa(q.name) || q.qclass !== 'IN') return next(q, signal);
    const ip = addressOfReverseName(q.name);
    if (ip === undefined || !this.#o.addresses.owns(ip) || !hasPlainName(q)) {
      return next(q, signal);
    }
    if (this.#o.ownAddresses().some((own) => sameAddress(own, ip))) {
      return this.#reply(q, PROBE_NAME, 0);
    }
    if (this.#o.paused?.() === true) return next(q, signal);
    const alias = this.#o.addresses.aliasFor(ip);
    if (alias === undefined || this.#o.snapshot().lookup(alias) === undefined) {
      return this.#reply(q, undefined, 0);
    }
    return this.#reply(q, alias, this.#ttl);
  }

  /** PTR to `target` (an empty answer for other types), or NXDOMAIN without one. */
  #reply(q: DnsQuery, target: string | undefined, ttl: number): DnsAnswer {
    const answers: Answer[] =
      target !== undefined && q.type === 'PTR'
        ? [{ name: q.name, type: 'PTR', class: 'IN', ttl, data: target }]
        : [];
    const bytes = encodeAnswer(q, answers, target === undefined ? RCODE.NXDOMAIN : RCODE.NOERROR);
    setId(bytes, q.id);
    return { bytes, by: this.name };
  }
}

function endsWithArpa(name: string): boolean {
  let end = name.length;
  if (name.charCodeAt(end - 1) === DOT) end--;
  if (end < 5 || name.charCodeAt(end - 5) !== DOT) return false;
  return name.slice(end - 4, end).toLowerCase() === 'arpa';
}

const DOT = 0x2e;
const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const NIBBLE = /^[0-9a-f]$/;

/**
 * The address a full reverse name stands for (`4.3.2.100.in-addr.arpa` → `100.2.3.4`, the 32
 * nibbles of ip6.arpa → the IPv6 address in canonical form), or undefined.
 */
export function addressOfReverseName(name: string): string | undefined {
  const labels = name.toLowerCase().replace(/\.$/, '').split('.');
  const suffix = labels.slice(-2).join('.');
  const parts = labels.slice(0, -2).reverse();
  if (suffix === 'in-addr.arpa' && parts.length === 4 && parts.every((p) => OCTET.test(p))) {
    return parts.join('.');
  }
  if (suffix === 'ip6.arpa' && parts.length === 32 && parts.every((p) => NIBBLE.test(p))) {
    const groups = Array.from({ length: 8 }, (_, i) => parts.slice(i * 4, i * 4 + 4).join(''));
    return new Address6(groups.join(':')).correctForm();
  }
  return undefined;
}

function sameAddress(a: string, b: string): boolean {
  return compressedIp(a) === compressedIp(b);
}
