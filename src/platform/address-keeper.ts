/**
 * Keeps the agent's addresses on its link while the machine's network changes: on each network
 * event (debounced) and on a timer it makes the link again if it is gone, puts back every address
 * that went, and re-reads the upstreams; one warning per cause, not per event.
 */
import type { Logger } from 'pino';
import type { UpstreamServer } from '../config/index.js';
import { type Clock, type TimerHandle, canonicalIp } from '../lib/index.js';
import type { NetworkChange, Platform } from './platform.js';

export interface AddressKeeperOptions {
  readonly platform: Pick<Platform, 'addresses' | 'resolver' | 'link' | 'state'>;
  /** Where the addresses go: the own link, loopback, or interface_to_use. */
  readonly iface: string;
  /** True when `iface` is the agent's own link (made again when gone). */
  readonly ownLink: boolean;
  readonly dnsAddresses: readonly string[];
  readonly clock: Clock;
  readonly log: Logger;
  readonly warn: (message: string) => void;
  /** The upstreams changed (another resolver configuration, another network). */
  readonly onUpstreams: (upstreams: readonly UpstreamServer[]) => void;
  readonly upstreams: readonly UpstreamServer[];
  /** Addresses and link checked this often without events (default 2 s; 30 s with events). */
  readonly pollMs?: number;
  /** Upstreams re-read this often (default 2 s; with systemd-resolved only on events and full checks). */
  readonly upstreamMs?: number;
  /** Events coalesced for this long (default 100 ms). */
  readonly debounceMs?: number;
}

const ALL: NetworkChange = { link: true, address: true, route: true };

export class AddressKeeper {
  readonly #o: AddressKeeperOptions;
  readonly #wanted = new Set<string>();
  readonly #warned = new Set<string>();
  #upstreams: string;
  #pending: NetworkChange | undefined;
  #debounce: TimerHandle | undefined;
  #poll: TimerHandle | undefined;
  #running: Promise<void> | undefined;
  #unwatch: (() => void) | undefined;
  #closed = false;

  constructor(options: AddressKeeperOptions) {
    this.#o = options;
    this.#upstreams = JSON.stringify(options.upstreams);
    for (const ip of options.dnsAddresses) this.#wanted.add(ip);
  }

  /** An address the agent added (a proxy address): kept from now on. */
  want(ip: string): void {
    this.#wanted.add(ip);
  }

  start(): void {
    this.#unwatch = this.#o.platform.link?.watch((change) => {
      this.#changed(change);
    });
    const pollMs = this.#o.pollMs ?? (this.#unwatch === undefined ? 2_000 : 30_000);
    const upstreamMs = this.#o.upstreamMs ?? 2_000;
    let sinceFull = 0;
    const tick = (): void => {
      if (this.#closed) return;
      sinceFull += upstreamMs;
      const full = sinceFull >= pollMs;
      if (full) sinceFull = 0;
      this.#changed(full ? ALL : { link: false, address: false, route: false }, 0);
      this.#poll = this.#o.clock.setTimeout(tick, upstreamMs);
    };
    this.#poll = this.#o.clock.setTimeout(tick, upstreamMs);
  }

  /** Checks everything now (after a resume from sleep); resolves when done. */
  async recheck(): Promise<void> {
    this.#changed(ALL);
    this.#cancelDebounce();
    while (this.#running !== undefined) await this.#running;
    if (this.#pending === undefined) return;
    this.#cancelDebounce();
    await this.#run();
  }

  #changed(change: NetworkChange, delayMs = this.#o.debounceMs ?? 100): void {
    if (this.#closed) return;
    const p = this.#pending;
    this.#pending = {
      link: change.link || (p?.link ?? false),
      address: change.address || (p?.address ?? false),
      route: change.route || (p?.route ?? false),
    };
    if (this.#debounce !== undefined || this.#running !== undefined) return;
    this.#debounce = this.#o.clock.setTimeout(() => {
      this.#debounce = undefined;
      void this.#run();
    }, delayMs);
  }

  #cancelDebounce(): void {
    this.#debounce?.cancel();
    this.#debounce = undefined;
  }

  #run(): Promise<void> | undefined {
    const change = this.#pending;
    this.#pending = undefined;
    if (change === undefined || this.#closed) return undefined;
    this.#running = this.#check(change)
      .catch((error: unknown) => {
        this.#o.log.warn({ err: error }, 'Could not check the agent addresses.');
      })
      .finally(() => {
        this.#running = undefined;
        if (this.#pending !== undefined) this.#changed(this.#pending, 0);
      });
    return this.#running;
  }

  async #check(change: NetworkChange): Promise<void> {
    const { platform, iface } = this.#o;
    if (this.#o.ownLink && (change.link || change.address)) {
      const did = await platform.link?.ensure();
      if (did === 'recreated') {
        this.#warnOnce(
          'link-gone',
          `another program deleted the agent's link ${iface}; the agent made it again and put its addresses back`,
        );
      } else if (did === 'set-up') {
        this.#warnOnce(
          'link-down',
          `another program set the agent's link ${iface} down; the agent set it up again`,
        );
      }
    }
    if (change.link || change.address) {
      const present = new Set(
        (await platform.addresses.list())
          .filter((a) => a.interface === iface)
          .map((a) => canonicalIp(a.address)),
      );
      const missing = [...this.#wanted].filter((ip) => !present.has(canonicalIp(ip)));
      if (this.#closed) return;
      if (missing.length > 0) {
        this.#warnOnce(
          `addresses-gone`,
          `another program removed the agent's addresses from ${iface} (${missing.join(', ')}); the agent put them back`,
        );
        for (const ip of missing) await platform.addresses.add(iface, ip);
      }
    }
    // systemd-resolved's upstreams are read with resolvectl: on network events and full checks
    // only; resolv.conf's come from the recorded original, cheap enough for every tick.
    const quiet = !change.link && !change.address && !change.route;
    if (quiet && platform.state().resolver?.kind === 'systemd-resolved') return;
    const upstreams = await platform.resolver.upstreams(this.#o.dnsAddresses);
    const key = JSON.stringify(upstreams);
    if (key !== this.#upstreams && !this.#closed) {
      this.#upstreams = key;
      this.#o.log.info(
        { upstreams: upstreams.map((u) => u.address) },
        'The network resolvers changed; other names now go to them.',
      );
      this.#o.onUpstreams(upstreams);
    }
  }

  #warnOnce(cause: string, message: string): void {
    if (this.#warned.has(cause)) {
      this.#o.log.info(message);
      return;
    }
    this.#warned.add(cause);
    this.#o.warn(message);
  }

  /** Stops watching; waits for a check under way. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unwatch?.();
    this.#unwatch = undefined;
    this.#debounce?.cancel();
    this.#debounce = undefined;
    this.#poll?.cancel();
    this.#poll = undefined;
    await this.#running;
  }
}
