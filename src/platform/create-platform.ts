/** Chooses the platform once, at start: Linux or macOS; any other OS is an error that says so. */
import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import { UnsupportedPlatformError } from '../lib/errors.js';
import type { CommandRunner } from './command-runner.js';
import { createDarwinPlatform } from './darwin/darwin-platform.js';
import { DarwinPeerCredentials } from './darwin/darwin-peer-credentials.js';
import { createLinuxPlatform } from './linux/linux-platform.js';
import type { Platform } from './platform.js';
import type { StateListener } from './platform-state.js';
import type { PlatformFs } from './root-fs.js';
import type { ServiceFileOptions } from './service/service-files.js';

export interface CreatePlatformOptions {
  /** `process.platform`. */
  readonly platform: string;
  readonly runner: CommandRunner;
  /** The file system under its root (`rootFs()` in production). */
  readonly fs: PlatformFs;
  readonly log: Logger;
  readonly clock: Clock;
  /** Called (and awaited) with the new state before each change is made: persist it. */
  readonly onChange?: StateListener | undefined;
  /** Linux: how often /etc/resolv.conf is checked while taken over (default 2 s). */
  readonly watchIntervalMs?: number | undefined;
  /** Linux: where /proc is (default `/`). */
  readonly procRoot?: string | undefined;
  /** The executable and config file the service definition runs. */
  readonly service?: Partial<ServiceFileOptions> | undefined;
}

export function createPlatform(o: CreatePlatformOptions): Platform {
  if (o.platform === 'linux') return createLinuxPlatform(o);
  if (o.platform === 'darwin') {
    return createDarwinPlatform({ ...o, peers: new DarwinPeerCredentials({ runner: o.runner }) });
  }
  throw new UnsupportedPlatformError(o.platform);
}
