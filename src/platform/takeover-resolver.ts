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
  #applied: OsDnsConfig | undefined;
  #unwatch: (() => void) | undefined;

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
    if (this.#applied !== undefined && sameConfig(this.#applied, config)) return;
    await this.#restore(signal);
    const backend = await this.#o.select(signal);
    const original = await backend.snapshot(config, signal);
    await this.#o.changes.setResolver(original);
    try {
      await backend.write(config, original, signal);
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
    this.#applied = config;
    this.#unwatch = backend.watch?.(
      config,
      original,
      (next) => this.#o.changes.setResolver(next),
      (message) => {
        this.#warn(message);
      },
    );
    this.#log.info(
      { mode: backend.kind, interface: config.interface, servers: config.servers },
      'The system resolver now uses the agent.',
    );
  }

  async #restore(signal?: AbortSignal): Promise<void> {
    this.#unwatch?.();
    this.#unwatch = undefined;
    const original = this.#o.changes.state.resolver;
    this.#applied = undefined;
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
    const servers = recorded === null ? await this.current(signal) : recorded.upstreams;
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
  return a.interface === b.interface && a.servers.join(' ') === b.servers.join(' ');
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
