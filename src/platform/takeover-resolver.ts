/**
 * The system resolver take-over, the same on every OS: record the original (state first), make
 * the change, undo it if it fails half-way; give back exactly what was recorded. What differs per
 * OS and per configuration style is a ResolverBackend.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import { DNS_PORT, type UpstreamServer } from '../config/index.js';
import { EMPTY, type Empty, type OsDnsConfig, type OsResolver } from './platform.js';
import type { ChangeRecord, ResolverState } from './platform-state.js';

export interface ResolverBackend {
  readonly kind: ResolverState['kind'];
  /** Reads the original configuration, changing nothing. */
  snapshot(config: OsDnsConfig, signal?: AbortSignal): Promise<ResolverState>;
  /** Makes the OS use `config.servers`. */
  write(config: OsDnsConfig, original: ResolverState, signal?: AbortSignal): Promise<void>;
  /** Puts `original` back. */
  restore(original: ResolverState, signal?: AbortSignal): Promise<void>;
  /** The nameservers the OS uses now (all of them, not only our link's or service's). */
  current(signal?: AbortSignal): Promise<string[]>;
  /** Whether the OS can send only some names to the agent (split mode); else every name comes. */
  readonly routesByName?: boolean;
  /** Changes which names reach the agent while taken over (the aliases changed). */
  reroute?(config: OsDnsConfig, signal?: AbortSignal): Promise<void>;
  /**
   * The servers the OS uses besides the agent, read now (they follow the network while taken
   * over); without it, the ones recorded at take-over.
   */
  liveUpstreams?(original: ResolverState, signal?: AbortSignal): Promise<string[]>;
  /**
   * Starts watching for another program undoing the take-over; `replace` records a new original
   * (what that program wrote) before the backend re-asserts. Returns the stop function.
   */
  watch?(
    config: OsDnsConfig,
    original: ResolverState,
    replace: (next: ResolverState) => Promise<void>,
    warn: (message: string) => void,
  ): () => void;
}

export interface TakeoverResolverOptions {
  /** The backend to take over with, chosen at apply time (Linux: resolved or resolv.conf). */
  readonly select: (signal?: AbortSignal) => Promise<ResolverBackend>;
  /** The backend that restores a recorded state of each kind. */
  readonly backendFor: (kind: ResolverState['kind']) => ResolverBackend;
  readonly changes: ChangeRecord;
  readonly log: Logger;
}

const MAX_WARNINGS = 20;

export class TakeoverResolver implements OsResolver {
  readonly #o: TakeoverResolverOptions;
  readonly #log: Logger;
  readonly #warnings: string[] = [];
  #applied:
    | {
        /** As asked for, to tell a repeated apply. */
        readonly requested: OsDnsConfig;
        /** As written: the effective mode, the domains routed. */
        readonly config: OsDnsConfig;
        readonly backend: ResolverBackend;
      }
    | undefined;
  #unwatch: (() => void) | undefined;
  /** The alias names, sorted; what split mode routes to the agent. */
  #domains: readonly string[] = [];
  /** The names the applied configuration routes now. */
  #routed: readonly string[] = [];
  #rerouting: Promise<void> | undefined;
  #rerouteAgain = false;

  constructor(options: TakeoverResolverOptions) {
    this.#o = options;
    this.#log = options.log.child({ component: 'os-resolver' });
  }

  async mode(signal?: AbortSignal): Promise<string> {
    return (await this.#o.select(signal)).kind;
  }

  async apply(config: OsDnsConfig | Empty, signal?: AbortSignal): Promise<void> {
    if (config === EMPTY) {
      await this.#restore(signal);
      return;
    }
    if (this.#applied !== undefined && sameConfig(this.#applied.requested, config)) return;
    await this.#restore(signal);
    const backend = await this.#o.select(signal);
    const split = config.dnsMode !== 'full' && backend.routesByName === true;
    if (config.dnsMode === 'split' && !split) {
      this.#warn(
        `dns_mode "split" needs systemd-resolved; with ${backend.kind} every name goes to the agent.`,
      );
    }
    const domains = this.#domains;
    const effective: OsDnsConfig = { ...config, dnsMode: split ? 'split' : 'full', domains };
    const original = await backend.snapshot(effective, signal);
    await this.#o.changes.setResolver(original);
    try {
      await backend.write(effective, original, signal);
    } catch (error) {
      try {
        await backend.restore(original);
        await this.#o.changes.setResolver(null);
      } catch (undoError) {
        // The state stays recorded: the next start's recovery tries again.
        this.#log.error({ err: undoError }, 'Could not undo a failed resolver take-over.');
      }
      throw error;
    }
    this.#applied = { requested: config, config: effective, backend };
    this.#routed = domains;
    this.#unwatch = backend.watch?.(
      effective,
      original,
      (next) => this.#o.changes.setResolver(next),
      (message) => {
        this.#warn(message);
      },
    );
    this.#log.info(
      {
        mode: backend.kind,
        dnsMode: effective.dnsMode,
        interface: config.interface,
        servers: config.servers,
        ...(split ? { aliases: domains.length } : {}),
      },
      'The system resolver now uses the agent.',
    );
  }

  setDomains(names: Iterable<string>): Promise<void> {
    this.#domains = [...new Set([...names].map((n) => n.toLowerCase().replace(/\.$/, '')))].sort();
    if (this.#rerouting !== undefined) {
      this.#rerouteAgain = true;
      return this.#rerouting;
    }
    const run = async (): Promise<void> => {
      try {
        // Names set while one update runs are routed by one more update after it.
        for (let again = true; again; again = this.#rerouteAgain as boolean) {
          this.#rerouteAgain = false;
          await this.#reroute();
        }
      } finally {
        this.#rerouting = undefined;
      }
    };
    this.#rerouting = run();
    return this.#rerouting;
  }

  async #reroute(): Promise<void> {
    const applied = this.#applied;
    const domains = this.#domains;
    if (applied?.config.dnsMode !== 'split' || applied.backend.reroute === undefined) return;
    if (domains.join(' ') === this.#routed.join(' ')) return;
    const config = { ...applied.config, domains };
    try {
      await applied.backend.reroute(config);
      this.#applied = { ...applied, config };
      this.#routed = domains;
      this.#log.info(
        { aliases: domains.length },
        'The system resolver routes the aliases to the agent.',
      );
    } catch (error) {
      this.#warn(`Could not route the aliases to the agent: ${(error as Error).message}`);
    }
  }

  async #restore(signal?: AbortSignal): Promise<void> {
    this.#unwatch?.();
    this.#unwatch = undefined;
    this.#applied = undefined;
    // A routing update under way finishes first: it must not land after the restore.
    await this.#rerouting;
    const original = this.#o.changes.state.resolver;
    if (original === null) return;
    await this.#o.backendFor(original.kind).restore(original, signal);
    await this.#o.changes.setResolver(null);
    this.#log.info({ mode: original.kind }, 'The system resolver is restored.');
  }

  async current(signal?: AbortSignal): Promise<string[]> {
    return (await this.#o.select(signal)).current(signal);
  }

  async upstreams(own: readonly string[], signal?: AbortSignal): Promise<UpstreamServer[]> {
    const recorded = this.#o.changes.state.resolver;
    if (recorded === null) return toUpstreams(await this.current(signal), own);
    const backend = this.#o.backendFor(recorded.kind);
    const servers =
      (await backend.liveUpstreams?.(recorded, signal).catch(() => undefined)) ??
      recorded.upstreams;
    return toUpstreams(servers, own);
  }

  warnings(): readonly string[] {
    return [...this.#warnings];
  }

  close(): void {
    this.#unwatch?.();
    this.#unwatch = undefined;
  }

  #warn(message: string): void {
    this.#log.warn(message);
    this.#warnings.unshift(message);
    this.#warnings.length = Math.min(this.#warnings.length, MAX_WARNINGS);
  }
}

function sameConfig(a: OsDnsConfig, b: OsDnsConfig): boolean {
  return (
    a.interface === b.interface &&
    a.servers.join(' ') === b.servers.join(' ') &&
    (a.dnsMode ?? 'auto') === (b.dnsMode ?? 'auto')
  );
}

/** Nameserver addresses → upstreams: unique, usable from Node (no zone), never one of `own`. */
export function toUpstreams(servers: readonly string[], own: readonly string[]): UpstreamServer[] {
  const mine = new Set(own.map((a) => a.toLowerCase()));
  const seen = new Set<string>();
  const out: UpstreamServer[] = [];
  for (const raw of servers) {
    const address = raw.toLowerCase();
    const family = net.isIP(address);
    // A link-local address with a zone (fe80::1%eth0) is left out, as parseResolvConf does.
    if (family === 0 || address.includes('%') || mine.has(address) || seen.has(address)) continue;
    seen.add(address);
    out.push({ address, port: DNS_PORT, family: family === 4 ? 4 : 6 });
  }
  return out;
}
