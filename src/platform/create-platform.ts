/** Chooses the platform once, at start: Linux or macOS; any other OS is an error that says so. */
import { UnsupportedPlatformError } from '../lib/index.js';
import { createDarwinPlatform } from './darwin/darwin-platform.js';
import { DarwinPeerCredentials } from './darwin/darwin-peer-credentials.js';
import { createLinuxPlatform, type LinuxPlatformOptions } from './linux/linux-platform.js';
import type { Platform } from './platform.js';

export interface CreatePlatformOptions extends LinuxPlatformOptions {
  /** `process.platform`. */
  readonly platform: string;
}

export function createPlatform(o: CreatePlatformOptions): Platform {
  if (o.platform === 'linux') return createLinuxPlatform(o);
  if (o.platform === 'darwin') {
    return createDarwinPlatform({ ...o, peers: new DarwinPeerCredentials({ runner: o.runner }) });
  }
  throw new UnsupportedPlatformError(o.platform);
}
