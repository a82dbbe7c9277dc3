/** Where the root daemon keeps its files by default, per platform, under our own product name. */
import { UnsupportedPlatformError } from '../lib/index.js';

export type PlatformName = 'linux' | 'darwin';

export interface DefaultPaths {
  readonly configFile: string;
  readonly stateFile: string;
  readonly operationalStateFile: string;
  readonly logFile: string;
}

const MACOS_SUPPORT = '/Library/Application Support/client-agent';

export const DEFAULT_PATHS: Readonly<Record<PlatformName, DefaultPaths>> = {
  linux: {
    configFile: '/etc/client-agent/client-agent.hcl',
    // Survives a reboot on purpose: after a power cut the next start must still find what
    // the last run changed on the machine (a rewritten /etc/resolv.conf) and undo it.
    stateFile: '/var/lib/client-agent/state.json',
    operationalStateFile: '/var/lib/client-agent/operational-state.json',
    logFile: '/var/log/client-agent/client-agent.log',
  },
  darwin: {
    configFile: `${MACOS_SUPPORT}/client-agent.hcl`,
    stateFile: `${MACOS_SUPPORT}/state.json`,
    operationalStateFile: `${MACOS_SUPPORT}/operational-state.json`,
    logFile: '/Library/Logs/client-agent/client-agent.log',
  },
};

export function platformName(platform: string): PlatformName {
  if (platform === 'linux' || platform === 'darwin') return platform;
  throw new UnsupportedPlatformError(platform);
}
