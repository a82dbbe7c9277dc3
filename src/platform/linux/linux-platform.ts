/** Linux: `ip` for addresses, systemd-resolved or /etc/resolv.conf for the resolver, `ss` for port owners, systemd. */
import type { Logger } from 'pino';
import type { Clock } from '../../lib/index.js';
import type { CommandRunner } from '../command-runner.js';
import type { Platform } from '../platform.js';
import { ChangeRecord, type StateListener } from '../platform-state.js';
import type { PlatformFs } from '../root-fs.js';
import type { ServiceFileOptions } from '../service/service-files.js';
import { SystemdService } from '../service/systemd-service.js';
import { TakeoverResolver, type ResolverBackend } from '../takeover-resolver.js';
import { recoveryFor } from '../recover.js';
import { DirectResolvConfBackend, RESOLV_CONF } from './direct-backend.js';
import { LinuxNotifier } from './desktop-notifier.js';
import { LinuxAddresses } from './linux-addresses.js';
import { LinuxPeerCredentials } from './peer-credentials.js';
import { LinuxPortOwners } from './port-owners.js';
import type { NetLinkAddon } from './net-link-addon.js';
import { removeLink, TunLink } from './own-link.js';
import { ResolvedBackend } from './resolved-backend.js';
import { isTakenOver, stripTakeover } from './resolv-conf-takeover.js';

export interface LinuxPlatformOptions {
  readonly runner: CommandRunner;
  /** The file system under its root (`rootFs()` in production). */
  readonly fs: PlatformFs;
  readonly clock: Clock;
  readonly log: Logger;
  /** Called (and awaited) with the new state before each change is made: persist it. */
  readonly onChange?: StateListener | undefined;
  /** Where /proc is for peer credentials (default `/`). */
  readonly procRoot?: string | undefined;
  /** How often /etc/resolv.conf is checked while taken over (default 2 s). */
  readonly watchIntervalMs?: number | undefined;
  /**
   * The tun/watch addon (`loadNetLink()`), used in this process's network namespace; absent:
   * the addresses go on loopback and the network is checked on a timer.
   */
  readonly netLink?: NetLinkAddon | null | undefined;
  /** The executable and config file the service definition runs. */
  readonly service?: Partial<ServiceFileOptions> | undefined;
  /** Where the users' runtime directories (with their session bus) are; default `/run/user`. */
  readonly runtimeRoot?: string | undefined;
}

/** /etc/resolv.conf a symlink into /run/systemd/resolve/: systemd-resolved manages it. */
const RESOLVED_LINK = /(^|\/)run\/systemd\/resolve\//;

export function createLinuxPlatform(o: LinuxPlatformOptions): Platform {
  const changes = new ChangeRecord({ onChange: o.onChange });
  const log = o.log.child({ component: 'platform' });
  const direct = new DirectResolvConfBackend({
    fs: o.fs,
    clock: o.clock,
    ...(o.watchIntervalMs === undefined ? {} : { watchIntervalMs: o.watchIntervalMs }),
  });
  const resolved = new ResolvedBackend({ runner: o.runner, log });
  const backendFor = (kind: string): ResolverBackend => {
    if (kind === 'systemd-resolved') return resolved;
    if (kind === 'resolv-conf') return direct;
    throw new Error(`a Linux platform cannot restore a "${kind}" resolver state`);
  };
  const addresses = new LinuxAddresses({ runner: o.runner, changes, log });
  const addon = o.netLink ?? undefined;
  return {
    name: 'linux',
    addresses,
    resolver: new TakeoverResolver({
      select: async () =>
        RESOLVED_LINK.test((await o.fs.readLink(RESOLV_CONF)) ?? '') ? resolved : direct,
      backendFor,
      changes,
      log,
    }),
    link: new TunLink({ runner: o.runner, changes, log, addon }),
    peers: new LinuxPeerCredentials({ root: o.procRoot ?? '/' }),
    ports: new LinuxPortOwners({ runner: o.runner }),
    service: new SystemdService({ runner: o.runner, fs: o.fs, ...o.service }),
    notifier: new LinuxNotifier({ runner: o.runner, runtimeRoot: o.runtimeRoot }),
    state: () => changes.state,
    recover: recoveryFor({
      backendFor,
      addresses,
      removeLink: (name) => removeLink(o.runner, name),
      sweep: async () => {
        const text = await o.fs.readIfExists(RESOLV_CONF);
        if (text === undefined || !isTakenOver(text)) return undefined;
        await o.fs.writeInPlace(RESOLV_CONF, stripTakeover(text));
        return `removed a take-over left in ${RESOLV_CONF} without a state`;
      },
      log,
    }),
  };
}
