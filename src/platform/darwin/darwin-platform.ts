/** macOS: ifconfig aliases, networksetup for the resolver, lsof for port owners, launchd. */
import type { Logger } from 'pino';
import type { CommandRunner } from '../command-runner.js';
import type { Platform } from '../platform.js';
import type { PeerCredentials } from '../types.js';
import { ChangeRecord, type StateListener } from '../platform-state.js';
import { recoveryFor } from '../recover.js';
import type { PlatformFs } from '../root-fs.js';
import { LaunchdService } from '../service/launchd-service.js';
import type { ServiceFileOptions } from '../service/service-files.js';
import { TakeoverResolver } from '../takeover-resolver.js';
import { DarwinAddresses } from './darwin-addresses.js';
import { DarwinNotifier } from './darwin-notifier.js';
import { DarwinPortOwners } from './darwin-port-owners.js';
import { NetworkSetupBackend } from './networksetup-backend.js';

export interface DarwinPlatformOptions {
  readonly runner: CommandRunner;
  readonly fs: PlatformFs;
  readonly log: Logger;
  readonly onChange?: StateListener | undefined;
  /** The peer-uid lookup (macOS: lsof); none yet in this layer, so it is passed in. */
  readonly peers: PeerCredentials;
  readonly service?: Partial<ServiceFileOptions> | undefined;
}

export function createDarwinPlatform(o: DarwinPlatformOptions): Platform {
  const changes = new ChangeRecord({ onChange: o.onChange });
  const log = o.log.child({ component: 'platform' });
  const backend = new NetworkSetupBackend({ runner: o.runner });
  const backendFor = (kind: string): NetworkSetupBackend => {
    if (kind !== 'networksetup') throw new Error(`macOS cannot restore a "${kind}" resolver state`);
    return backend;
  };
  const addresses = new DarwinAddresses({ runner: o.runner, changes, log });
  return {
    name: 'darwin',
    addresses,
    resolver: new TakeoverResolver({
      select: () => Promise.resolve(backend),
      backendFor,
      changes,
      log,
    }),
    peers: o.peers,
    ports: new DarwinPortOwners({ runner: o.runner }),
    service: new LaunchdService({ runner: o.runner, fs: o.fs, ...o.service }),
    notifier: new DarwinNotifier({ runner: o.runner }),
    state: () => changes.state,
    // networksetup leaves no marker to find without a state.
    recover: recoveryFor({ backendFor, addresses, sweep: () => Promise.resolve(undefined), log }),
  };
}
