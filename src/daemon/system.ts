/**
 * The root daemon: recovers what a dead run left on the machine, puts the DNS addresses on the
 * primary interface, starts the agent and the control API, takes over the system resolver, and
 * undoes all of it on stop. What it changed on the machine is kept in a platform state file
 * (written before each change) so that a crash, a kill -9 or a power cut is undone at the next
 * start or by `client-agent daemon --cleanup`.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type { AgentConfig } from '../config/index.js';
import type { ControlServer } from '../control/index.js';
import { PROBE_NAME } from '../dns/index.js';
import type { Clock, AgentLogger } from '../lib/index.js';
import {
  createPlatform,
  ExecFileRunner,
  isPlatformState,
  loadNetLink,
  nothingToUndo,
  prepareSystemProfile,
  rootFs,
  type Platform,
  type PlatformState,
} from '../platform/index.js';
import type { Agent } from './agent.js';
import { runAgent } from './run-agent.js';
import { readJson, removeFile, writeJson } from './state-files.js';

/** Beside the state file: what the platform changed (addresses, resolver), written before each change. */
export function platformStateFile(config: AgentConfig): string {
  return path.join(path.dirname(config.stateFile), 'platform-state.json');
}

export interface SystemDaemonOptions {
  readonly config: AgentConfig;
  readonly clock: Clock;
  readonly log: Logger;
  readonly logger?: AgentLogger;
  readonly version: string;
  readonly platform?: string;
}

export interface SystemDaemon {
  readonly agent: Agent;
  readonly control: ControlServer;
  /** SIGHUP: the agent applies what it can; a moved state_file takes the platform state along. */
  reload(next: AgentConfig): void;
  close(): Promise<void>;
}

function platformFor(options: {
  config: AgentConfig;
  clock: Clock;
  log: Logger;
  platform?: string;
  /** The config in force (state_file reloads); default the one given. */
  current?: () => AgentConfig;
}): Platform {
  const file = () => platformStateFile(options.current?.() ?? options.config);
  return createPlatform({
    platform: options.platform ?? process.platform,
    runner: new ExecFileRunner(),
    fs: rootFs(),
    clock: options.clock,
    log: options.log,
    netLink: loadNetLink(),
    onChange: (state: PlatformState) => writeJson(file(), state),
  });
}

/** Undoes what a previous run left (its platform state file, a marker in resolv.conf). */
export async function recoverPrevious(
  platform: Platform,
  config: AgentConfig,
  log: Logger,
): Promise<void> {
  const file = platformStateFile(config);
  const saved: unknown = await readJson(file);
  const result = await platform.recover(isPlatformState(saved) ? saved : undefined);
  if (result.undone.length > 0)
    log.warn({ undone: result.undone }, 'Undid what a previous run left on this machine.');
  if (result.failed.length > 0)
    log.error({ failed: result.failed }, 'Could not undo everything a previous run left.');
  if (nothingToUndo(result.remaining)) await removeFile(file);
  else await writeJson(file, result.remaining);
}

/** `client-agent daemon --cleanup`: only the recovery (for a service's stop hook). */
export async function cleanup(
  options: Omit<SystemDaemonOptions, 'version' | 'logger'>,
): Promise<void> {
  const platform = platformFor(options);
  await recoverPrevious(platform, options.config, options.log);
}

export async function startSystemDaemon(options: SystemDaemonOptions): Promise<SystemDaemon> {
  const { config, log } = options;
  let current = config;
  const platform = platformFor({ ...options, current: () => current });
  await recoverPrevious(platform, config, log);
  const profile = await prepareSystemProfile({
    platform,
    config,
    clock: options.clock,
    log,
    ownNames: [PROBE_NAME],
  });
  const running = await runAgent({
    agent: {
      config,
      profile: {
        ...profile,
        describePortOwner: (address, port) => platform.ports.describePortOwner(address, port),
      },
      clock: options.clock,
      log,
      logger: options.logger,
      peers: platform.peers,
      version: options.version,
      notifier: platform.notifier,
    },
    control: { port: config.listenPort },
    release: async () => {
      await profile.close();
      await removeFile(platformStateFile(current));
    },
  });
  const { agent, control } = running;
  return {
    agent,
    control,
    reload(next) {
      const before = platformStateFile(current);
      agent.reload(next);
      current = agent.config;
      const after = platformStateFile(current);
      if (after === before) return;
      void writeJson(after, platform.state())
        .then(() => removeFile(before))
        .catch((err: unknown) => {
          log.error({ err: (err as Error).message }, 'Could not move the platform state file.');
        });
    },
    close: () => running.close(),
  };
}
