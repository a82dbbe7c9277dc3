/**
 * The root daemon's view of the platform, in the shape of the agent's `AgentProfile` (system):
 * the DNS server's addresses put on the agent's own link (or `interface_to_use`, or the primary
 * interface where the platform has no own link), kept there while the network changes, the
 * resolvers from before (followed as they change), proxy addresses added on demand, the resolver
 * taken over and given back; `close()` undoes it all.
 */
import type { Logger } from 'pino';
import type { DnsMode, IpPrefix, UpstreamServer } from '../config/index.js';
import { type Clock, asError } from '../lib/index.js';
import { AddressKeeper } from './address-keeper.js';
import { machineAddresses } from './local-addresses.js';
import { EMPTY, type Platform } from './platform.js';
import { dnsAddressesFor } from './prefix-overlap.js';

export interface SystemProfileOptions {
  readonly platform: Platform;
  readonly config: {
    readonly interfaceToUse: string | null;
    readonly v4Prefix: IpPrefix;
    readonly v6Prefix: IpPrefix | null;
    readonly dnsMode?: DnsMode | undefined;
  };
  readonly clock: Clock;
  readonly log: Logger;
  /** 53 in production. */
  readonly dnsPort?: number;
  /**
   * Names split DNS routes to the agent besides the aliases: the diag probe name, so that
   * `client-agent diag` can tell the OS resolver asks the agent.
   */
  readonly ownNames?: readonly string[];
  readonly signal?: AbortSignal;
}

export interface SystemProfile {
  readonly name: 'system';
  readonly interface: string;
  readonly dnsAddresses: readonly string[];
  readonly dnsPort: number;
  readonly systemUpstreams: readonly UpstreamServer[];
  addAddress(ip: string): Promise<void>;
  /** An address another interface of this machine had when the agent started: no alias gets it. */
  isAddressTaken(ip: string): boolean;
  readonly resolver: {
    apply(): Promise<void>;
    restore(): Promise<void>;
    setAliases(names: readonly string[]): Promise<void>;
  };
  /** What the machine's state makes worse (addresses on loopback), and what was repaired. */
  warnings(): readonly string[];
  /** Calls `listener` with the new upstreams whenever the network's resolvers change. */
  onUpstreams(listener: (upstreams: readonly UpstreamServer[]) => void): void;
  /** Re-checks the link, the addresses and the resolvers now (after a resume from sleep). */
  recheck(): Promise<void>;
  /** Restores the resolver and removes every address and the link; tries all, throws the first failure. */
  close(): Promise<void>;
}

const MAX_WARNINGS = 20;

/**
 * Checks the prefixes, reads the upstreams, makes the link and adds the DNS addresses (undone
 * again if a step fails). Call after `platform.recover(...)` and before the agent starts (its DNS
 * server binds these addresses).
 */
export async function prepareSystemProfile(o: SystemProfileOptions): Promise<SystemProfile> {
  const { platform, config, signal } = o;
  const log = o.log.child({ component: 'addresses' });
  const warnings: string[] = [];
  const warn = (message: string): void => {
    log.warn(message);
    warnings.unshift(message);
    warnings.length = Math.min(warnings.length, MAX_WARNINGS);
  };
  const fixed = config.interfaceToUse !== null || platform.link === undefined;
  const primary = fixed
    ? await platform.addresses.primaryInterface(config.interfaceToUse, signal)
    : undefined;
  await platform.addresses.checkPrefix(config.v4Prefix, signal);
  if (config.v6Prefix !== null) await platform.addresses.checkPrefix(config.v6Prefix, signal);
  const dnsAddresses = dnsAddressesFor(config.v4Prefix, config.v6Prefix);
  const systemUpstreams = await platform.resolver.upstreams(dnsAddresses, signal);
  const listeners: ((u: readonly UpstreamServer[]) => void)[] = [];
  const kept: { keeper?: AddressKeeper } = {};
  const close = async (): Promise<void> => {
    let first: unknown;
    await kept.keeper?.close();
    platform.resolver.close();
    await platform.resolver.apply(EMPTY).catch((e: unknown) => (first ??= e));
    await platform.addresses.removeAll().catch((e: unknown) => (first ??= e));
    await platform.link?.close().catch((e: unknown) => (first ??= e));
    if (first !== undefined) throw asError(first);
  };
  const ownNames = o.ownNames ?? [];
  await platform.resolver.setDomains(ownNames);
  let iface: string;
  let ownLink = false;
  try {
    if (primary !== undefined || platform.link === undefined) {
      iface = primary ?? '';
    } else {
      const link = await platform.link.open(signal);
      iface = link.name;
      ownLink = link.fallback === undefined;
      if (link.fallback !== undefined) warn(link.fallback);
    }
    for (const ip of dnsAddresses) await platform.addresses.add(iface, ip, signal);
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
  const running = new AddressKeeper({
    platform,
    iface,
    ownLink,
    dnsAddresses,
    clock: o.clock,
    log,
    warn,
    upstreams: systemUpstreams,
    onUpstreams: (upstreams) => {
      for (const l of listeners) l(upstreams);
    },
  });
  kept.keeper = running;
  running.start();
  const taken = machineAddresses();
  return {
    name: 'system',
    interface: iface,
    dnsAddresses,
    dnsPort: o.dnsPort ?? 53,
    systemUpstreams,
    addAddress: async (ip) => {
      running.want(ip);
      await platform.addresses.add(iface, ip);
    },
    isAddressTaken: (ip) => taken.has(ip),
    resolver: {
      apply: () =>
        platform.resolver.apply({
          interface: iface,
          servers: dnsAddresses,
          dnsMode: config.dnsMode,
        }),
      restore: () => platform.resolver.apply(EMPTY),
      setAliases: (names) => platform.resolver.setDomains([...ownNames, ...names]),
    },
    warnings: () => [...warnings],
    onUpstreams: (listener) => listeners.push(listener),
    recheck: () => running.recheck(),
    close,
  };
}
