/**
 * Linux: the agent's own link, a tun device made with TUNSETIFF and held open (not persistent),
 * so that its addresses survive whatever happens to the primary interface (flush, flap, removal)
 * and the kernel deletes the link, with every address on it, when the agent dies. The handle is
 * never read: the addresses are local ones, delivered through loopback. Where no tun can be made
 * (no /dev/net/tun, no addon) the addresses go on loopback, and `open` says why.
 */
import type { Logger } from 'pino';
import type { CommandRunner } from '../command-runner.js';
import { PlatformError } from '../errors.js';
import type { NetworkChange, OwnLink } from '../platform.js';
import type { ChangeRecord } from '../platform-state.js';
import { parseLinks, type IpLink } from './ip-json.js';
import { NET_EVENT, type NetLinkAddon } from './net-link-addon.js';

/** The link's name: at most 15 bytes (IFNAMSIZ). */
export const OWN_LINK_NAME = 'client-agent';
export const LOOPBACK = 'lo';

export interface TunLinkOptions {
  readonly runner: CommandRunner;
  readonly changes: ChangeRecord;
  readonly log: Logger;
  /** Undefined: the addon is not built (loopback). */
  readonly addon: NetLinkAddon | undefined;
  readonly name?: string;
}

export class TunLink implements OwnLink {
  readonly #o: TunLinkOptions;
  readonly #name: string;
  #handle: unknown;

  constructor(options: TunLinkOptions) {
    this.#o = options;
    this.#name = options.name ?? OWN_LINK_NAME;
  }

  async open(signal?: AbortSignal): Promise<{ name: string; fallback?: string }> {
    const addon = this.#o.addon;
    if (addon === undefined) {
      return {
        name: LOOPBACK,
        fallback: `the agent's addresses are on loopback (lo), not on a link of its own: the native addon (native/sock-diag) is not built`,
      };
    }
    await this.#o.changes.setLink(this.#name);
    try {
      await this.#make(addon, signal);
    } catch (error) {
      this.#closeHandle();
      await this.#o.changes.setLink(null);
      const why = error instanceof Error ? error.message : String(error);
      return {
        name: LOOPBACK,
        fallback: `the agent's addresses are on loopback (lo), not on a link of its own: no tun device could be made (${why})`,
      };
    }
    return { name: this.#name };
  }

  async #make(addon: NetLinkAddon, signal?: AbortSignal): Promise<void> {
    this.#handle = addon.tunOpen(this.#name);
    await this.#o.runner.run('ip', ['link', 'set', 'dev', this.#name, 'up'], { signal });
  }

  async ensure(signal?: AbortSignal): Promise<'recreated' | 'set-up' | undefined> {
    const addon = this.#o.addon;
    if (addon === undefined || this.#handle === undefined) return undefined;
    const link = await this.#show(signal);
    if (link === undefined) {
      this.#closeHandle();
      await this.#make(addon, signal);
      return 'recreated';
    }
    if (!(link.flags ?? []).includes('UP')) {
      await this.#o.runner.run('ip', ['link', 'set', 'dev', this.#name, 'up'], { signal });
      return 'set-up';
    }
    return undefined;
  }

  async #show(signal?: AbortSignal): Promise<IpLink | undefined> {
    try {
      const { stdout } = await this.#o.runner.run('ip', ['-j', 'link', 'show', 'dev', this.#name], {
        signal,
      });
      return parseLinks(stdout)[0];
    } catch (error) {
      if (isNoDevice(error)) return undefined;
      throw error;
    }
  }

  watch(onChange: (change: NetworkChange) => void): (() => void) | undefined {
    const addon = this.#o.addon;
    if (addon === undefined) return undefined;
    let handle: unknown;
    try {
      handle = addon.watchOpen((mask) => {
        const all = (mask & NET_EVENT.OVERFLOW) !== 0;
        onChange({
          link: all || (mask & NET_EVENT.LINK) !== 0,
          address: all || (mask & NET_EVENT.ADDRESS) !== 0,
          route: all || (mask & NET_EVENT.ROUTE) !== 0,
        });
      });
    } catch (error) {
      this.#o.log.warn(
        { err: error },
        'Cannot watch the network with rtnetlink; checking it on a timer.',
      );
      return undefined;
    }
    return () => {
      addon.watchClose(handle);
    };
  }

  async close(signal?: AbortSignal): Promise<void> {
    if (this.#handle !== undefined) {
      // Closing the last file of a non-persistent tun deletes the link at once.
      this.#closeHandle();
    }
    if (this.#o.changes.state.link === this.#name) {
      await removeLink(this.#o.runner, this.#name, signal);
      await this.#o.changes.setLink(null);
    }
  }

  #closeHandle(): void {
    if (this.#handle !== undefined) this.#o.addon?.tunClose(this.#handle);
    this.#handle = undefined;
  }
}

/** `ip link del NAME`; a link already gone is fine. */
export async function removeLink(
  runner: CommandRunner,
  name: string,
  signal?: AbortSignal,
): Promise<void> {
  try {
    await runner.run('ip', ['link', 'del', 'dev', name], { signal });
  } catch (error) {
    if (!isNoDevice(error)) throw error;
  }
}

function isNoDevice(error: unknown): boolean {
  return (
    error instanceof PlatformError &&
    /Cannot find device|does not exist|No such device/i.test(error.message)
  );
}
