/**
 * The root daemon's view of the platform, in the shape of the agent's `AgentProfile` (system):
 * the DNS server's addresses put on the primary interface, the resolvers from before, proxy
 * addresses added on demand, the resolver taken over and given back; `close()` undoes it all.
 */
import type { DnsMode, IpPrefix, UpstreamServer } from '../config/index.js';
import { EMPTY, type Platform } from './platform.js';
import { asError } from './linux/linux-addresses.js';
import { dnsAddressesFor } from './prefix-overlap.js';

export interface SystemProfileOptions {
  readonly platform: Platform;
  readonly config: {
    readonly interfaceToUse: string | null;
    readonly v4Prefix: IpPrefix;
    readonly v6Prefix: IpPrefix | null;
    readonly dnsMode?: DnsMode | undefined;
  };
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
  readonly resolver: {
    apply(): Promise<void>;
    restore(): Promise<void>;
    setAliases(names: readonly string[]): Promise<void>;
  };
  /** Restores the resolver and removes every address added; tries both, throws the first failure. */
  close(): Promise<void>;
}

/**
 * Checks the prefixes, reads the upstreams, adds the DNS addresses (removed again if a step
 * fails). Call after `platform.recover(...)` and before the agent starts (its DNS server binds
 * these addresses).
 */
export async function prepareSystemProfile(o: SystemProfileOptions): Promise<SystemProfile> {
  const { platform, config, signal } = o;
  const iface = await platform.addresses.primaryInterface(config.interfaceToUse, signal);
  await platform.addresses.checkPrefix(config.v4Prefix, signal);
  if (config.v6Prefix !== null) await platform.addresses.checkPrefix(config.v6Prefix, signal);
  const dnsAddresses = dnsAddressesFor(config.v4Prefix, config.v6Prefix);
  const systemUpstreams = await platform.resolver.upstreams(dnsAddresses, signal);
  const close = async (): Promise<void> => {
    let first: unknown;
    platform.resolver.close();
    await platform.resolver.apply(EMPTY).catch((e: unknown) => (first ??= e));
    await platform.addresses.removeAll().catch((e: unknown) => (first ??= e));
    if (first !== undefined) throw asError(first);
  };
  const ownNames = o.ownNames ?? [];
  await platform.resolver.setDomains(ownNames);
  try {
    for (const ip of dnsAddresses) await platform.addresses.add(iface, ip, signal);
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
  return {
    name: 'system',
    interface: iface,
    dnsAddresses,
    dnsPort: o.dnsPort ?? 53,
    systemUpstreams,
    addAddress: (ip) => platform.addresses.add(iface, ip),
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
    close,
  };
}
