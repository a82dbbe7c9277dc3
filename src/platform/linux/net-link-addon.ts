/**
 * Linux: the agent's tun link and the rtnetlink watch, from the same addon as sock_diag
 * (native/sock-diag/src/net_link.c). Undefined where the addon is not built: the agent then puts
 * its addresses on loopback and checks the machine on a timer instead of on events.
 */
import { createRequire } from 'node:module';
import { ADDON_PATH } from './sock-diag.js';

/** A watch callback's mask: which kinds of rtnetlink events arrived (OVERFLOW: some were lost). */
export const NET_EVENT = { LINK: 1, ADDRESS: 2, ROUTE: 4, OVERFLOW: 8 } as const;

export interface NetLinkAddon {
  /** A non-persistent tun named `name`; closing the handle (or dying) deletes the link. */
  tunOpen(name: string): unknown;
  tunClose(handle: unknown): void;
  watchOpen(callback: (mask: number) => void): unknown;
  watchClose(handle: unknown): void;
}

export function loadNetLink(): NetLinkAddon | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const addon = createRequire(import.meta.url)(ADDON_PATH) as Partial<NetLinkAddon>;
    return typeof addon.tunOpen === 'function' ? (addon as NetLinkAddon) : undefined;
  } catch {
    return undefined;
  }
}
