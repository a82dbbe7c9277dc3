/**
 * The platform interfaces: what the daemon asks of the operating system, one interface per
 * concern, with a Linux and a macOS implementation chosen once at start (createPlatform).
 */
import type { DnsMode, IpPrefix, UpstreamServer } from '../config/index.js';
import type { PeerCredentials } from './types.js';
import type { PlatformState } from './platform-state.js';

/** An address on one of the machine's interfaces. */
export interface InterfaceAddress {
  readonly interface: string;
  readonly address: string;
}

/** The IP addresses the agent puts on an interface: the DNS server's and the proxy addresses. */
export interface InterfaceAddresses {
  /** `interfaceToUse` when set (checked to exist), else the interface of the default route. */
  primaryInterface(interfaceToUse: string | null, signal?: AbortSignal): Promise<string>;
  /** Throws a PlatformError naming the address or route of the machine that overlaps `prefix`. */
  checkPrefix(prefix: IpPrefix, signal?: AbortSignal): Promise<void>;
  /**
   * The addresses and routes of the machine that overlap `prefix`, as phrases ("address
   * 100.64.0.7/32 on tailscale0", "route 100.64.0.0/10 via tailscale0"); the addresses in
   * `ignore` (the agent's own) and their host routes are left out.
   */
  prefixConflicts(
    prefix: IpPrefix,
    ignore: readonly string[],
    signal?: AbortSignal,
  ): Promise<string[]>;
  /** Every address on the machine's interfaces. */
  list(signal?: AbortSignal): Promise<InterfaceAddress[]>;
  /** Adds a host address (/32, /128); recorded in the state before it is made. */
  add(iface: string, ip: string, signal?: AbortSignal): Promise<void>;
  /** Removes an address this agent added; one already gone is fine. */
  remove(iface: string, ip: string, signal?: AbortSignal): Promise<void>;
  /** Removes every address this agent added, newest first; tries them all, then throws the first failure. */
  removeAll(signal?: AbortSignal): Promise<void>;
}

/** What the OS resolver should point at: our DNS addresses, set for the service/link of `interface`. */
export interface OsDnsConfig {
  readonly interface: string;
  readonly servers: readonly string[];
  /**
   * Which names go to the agent where the OS routes names per link (systemd-resolved): `split`
   * only `domains`, `full` every name; `auto` (the default) is split there. Elsewhere every name.
   */
  readonly dnsMode?: DnsMode | undefined;
  /** The names split mode routes to the agent: the aliases (set through `setDomains`). */
  readonly domains?: readonly string[] | undefined;
}

/** The argument of `apply` that gives the OS resolver back as it was. */
export const EMPTY = 'EMPTY';
export type Empty = typeof EMPTY;

/** The system resolver: taken over declaratively, given back exactly. */
export interface OsResolver {
  /** How the OS is configured here: `resolv-conf`, `systemd-resolved` or `networksetup`. */
  mode(signal?: AbortSignal): Promise<string>;
  /**
   * `apply(config)` records the original (state first), then makes the OS use `config.servers`;
   * a failure half-way undoes what was done. `apply(EMPTY)` restores the original exactly.
   */
  apply(config: OsDnsConfig | Empty, signal?: AbortSignal): Promise<void>;
  /** The nameserver addresses the OS uses now. */
  current(signal?: AbortSignal): Promise<string[]>;
  /**
   * The names to route to the agent in split mode (the alias values): applied at once while taken
   * over (updates coming in meanwhile coalesce into one), kept for the next `apply` otherwise.
   * Never throws: a failure is logged and listed in `warnings()`.
   */
  setDomains(names: Iterable<string>): Promise<void>;
  /**
   * The resolvers configured before take-over (the recorded originals while taken over), never
   * one of `own`: where the DNS server forwards other names.
   */
  upstreams(own: readonly string[], signal?: AbortSignal): Promise<UpstreamServer[]>;
  /** Warnings since start (another program overwrote the configuration, ...), newest first. */
  warnings(): readonly string[];
  /** Stops watching; leaves the configuration as it is. */
  close(): void;
}

/** A process holding a port. */
export interface PortOwner {
  readonly pid: number;
  readonly command: string;
}

/** A socket bound to a port: its local address and the processes holding it (none visible without root). */
export interface PortSocket {
  /** The bound address without port or brackets: `0.0.0.0`, `::`, `*`, `100.64.0.1`. */
  readonly local: string;
  readonly port: number;
  readonly owners: PortOwner[];
}

export interface PortOwners {
  /** The processes with a socket bound to `port` (UDP listening or TCP listening). */
  owners(protocol: 'udp' | 'tcp', port: number, signal?: AbortSignal): Promise<PortOwner[]>;
  /** The sockets bound to `port` (UDP) or listening on it (TCP), with their addresses. */
  sockets(protocol: 'udp' | 'tcp', port: number, signal?: AbortSignal): Promise<PortSocket[]>;
  /**
   * "dnsmasq (pid 812)" for a process bound to `address:port` or the wildcard, UDP or TCP; for the
   * DNS server's `describePortOwner` hook. Undefined when nobody (visible) holds it.
   */
  describePortOwner(address: string, port: number): Promise<string | undefined>;
}

/** Installs the agent as a system service (systemd unit, launchd daemon). */
export interface ServiceManager {
  /** Where the service definition goes. */
  readonly definitionPath: string;
  /** The command sequence install runs after writing the definition (for --dry-run and docs). */
  installCommands(): readonly (readonly string[])[];
  uninstallCommands(): readonly (readonly string[])[];
  install(signal?: AbortSignal): Promise<void>;
  uninstall(signal?: AbortSignal): Promise<void>;
}

/** A desktop notification: plain text, nothing secret (it may show on a locked screen). */
export interface UserNotice {
  readonly title: string;
  readonly body: string;
}

/** `sent`, or `no-session`: the user has no desktop session to show it in (nothing was run). */
export type NoticeResult = 'sent' | 'no-session';

/** Shows notices on an OS user's desktop (Linux: their D-Bus session bus; macOS: Notification Center). */
export interface UserNotifier {
  /** Throws a PlatformError when the user has a session but the notice could not be shown. */
  notify(uid: number, notice: UserNotice, signal?: AbortSignal): Promise<NoticeResult>;
}

export interface RecoveryReport {
  /** What was undone, as sentences for the log. */
  readonly undone: readonly string[];
  /** What could not be undone (the state is kept so the next start tries again). */
  readonly failed: readonly string[];
  /** What is still to undo: persist it in place of the old state (nothingToUndo: delete it). */
  readonly remaining: PlatformState;
}

/** What changed on the machine's network, from one watch event (or a timer's re-check). */
export interface NetworkChange {
  readonly link: boolean;
  readonly address: boolean;
  readonly route: boolean;
}

/**
 * A link of the agent's own for its addresses (Linux: a tun device it holds open, so that the
 * kernel deletes it and its addresses when the agent dies), or loopback where none can be made.
 */
export interface OwnLink {
  /** Makes the link; `fallback` says why the addresses go on loopback instead. */
  open(signal?: AbortSignal): Promise<{ readonly name: string; readonly fallback?: string }>;
  /** Makes the link again when it is gone or sets it up when it is down; what it did, or undefined. */
  ensure(signal?: AbortSignal): Promise<'recreated' | 'set-up' | undefined>;
  /** Calls `onChange` on the machine's network events; undefined where no events can be had. */
  watch(onChange: (change: NetworkChange) => void): (() => void) | undefined;
  /** Deletes the link (its addresses go with it); one already gone is fine. */
  close(signal?: AbortSignal): Promise<void>;
}

export interface Platform {
  readonly name: 'linux' | 'darwin';
  readonly addresses: InterfaceAddresses;
  readonly resolver: OsResolver;
  /** The agent's own link (Linux); absent: the addresses go on the primary interface. */
  readonly link?: OwnLink | undefined;
  readonly peers: PeerCredentials;
  readonly ports: PortOwners;
  readonly service: ServiceManager;
  readonly notifier: UserNotifier;
  /** What this run has changed on the machine, as plain JSON for the state file. */
  state(): PlatformState;
  /**
   * Undoes what a previous (dead) run changed: its resolver take-over restored, its addresses
   * removed; then sweeps a take-over marker left without a state. Run at every start, first.
   */
  recover(previous: PlatformState | undefined, signal?: AbortSignal): Promise<RecoveryReport>;
}
