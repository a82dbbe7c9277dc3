/**
 * What the machine checks need to know about the agent: from its control API when it runs
 * (`/v1/status/details`), else from the configuration it would start with.
 */
import {
  parseUpstream,
  type AgentConfig,
  type IpPrefix,
  type UpstreamServer,
  parseV4Prefix,
  parseV6Prefix,
} from '../config/index.js';
import type { AgentDetails } from '../control/index.js';
import { dnsAddressesFor } from '../platform/index.js';
import { parseServer } from './dns-probe.js';

export interface MachineFacts {
  /** Undefined when the agent answered; otherwise why it could not be asked, and what to do. */
  readonly notRunning?: { readonly message: string; readonly hint?: string | undefined };
  readonly status?: AgentDetails['status'];
  readonly pausedReason?: string;
  readonly profile: 'system' | 'dev';
  readonly pid?: number;
  readonly interface?: string;
  /** The DNS server's addresses (IPs) and its port. */
  readonly dnsAddresses: readonly string[];
  readonly dnsPort: number;
  /** Addresses the agent itself put on the machine: DNS and proxy addresses. */
  readonly ownAddresses: readonly string[];
  readonly v4Prefix: IpPrefix;
  readonly v6Prefix: IpPrefix | null;
  readonly upstreams: readonly UpstreamServer[];
  readonly aliasCount?: number;
  readonly lastRefresh?: string;
}

/** The facts of a running agent, from its details. */
export function factsFromDetails(details: AgentDetails): MachineFacts {
  const servers = details.dns_addresses.flatMap((a) => parseServer(a) ?? []);
  const v4 = parseV4Prefix(details.v4_prefix);
  const v6 = details.v6_prefix === undefined ? null : parseV6Prefix(details.v6_prefix);
  if (typeof v4 === 'string') throw new Error(`the agent reported a bad v4_prefix: ${v4}`);
  if (typeof v6 === 'string') throw new Error(`the agent reported a bad v6_prefix: ${v6}`);
  const dnsAddresses = servers.map((s) => s.address);
  return {
    status: details.status,
    ...(details.paused_reason === undefined ? {} : { pausedReason: details.paused_reason }),
    profile: details.profile,
    pid: details.pid,
    ...(details.interface === undefined ? {} : { interface: details.interface }),
    dnsAddresses,
    dnsPort: details.dns_port,
    ownAddresses: [...new Set([...dnsAddresses, ...details.listeners.map((l) => l.address)])],
    v4Prefix: v4,
    v6Prefix: v6,
    upstreams: details.upstreams.flatMap((u) => {
      const parsed = parseUpstream(u);
      return typeof parsed === 'string' ? [] : [parsed];
    }),
    aliasCount: details.alias_count,
    ...(details.last_refresh === undefined ? {} : { lastRefresh: details.last_refresh.time }),
  };
}

/** The facts of an agent that is not running: what the root daemon would use with `config`. */
export function factsFromConfig(
  config: Pick<AgentConfig, 'v4Prefix' | 'v6Prefix' | 'overrideUpstreamDnsServers'>,
  systemUpstreams: readonly UpstreamServer[],
  notRunning: { message: string; hint?: string | undefined },
): MachineFacts {
  const dnsAddresses = dnsAddressesFor(config.v4Prefix, config.v6Prefix);
  return {
    notRunning,
    profile: 'system',
    dnsAddresses,
    dnsPort: 53,
    ownAddresses: dnsAddresses,
    v4Prefix: config.v4Prefix,
    v6Prefix: config.v6Prefix,
    upstreams:
      config.overrideUpstreamDnsServers.length > 0
        ? config.overrideUpstreamDnsServers
        : systemUpstreams,
  };
}
