/**
 * `client-agent dev`: the stand-in Boundary (controller, worker, demo targets) and the agent in
 * its unprivileged profile, in one process, without root and without changing the machine: DNS
 * on 127.0.0.1 at a high port, proxy addresses from 127.100.0.0/16 (on macOS, where 127.0.0.1 is
 * the only loopback address without root, every alias answers 127.0.0.1 and aliases differ by
 * port), files under per-user paths, a token for the current OS user added automatically.
 */
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import envPaths from 'env-paths';
import type { Logger } from 'pino';
import { ControllerClient } from '../boundary/index.js';
import {
  parseConfig,
  type AgentConfig,
  type DnsMode,
  type UpstreamServer,
  parseV4Prefix,
} from '../config/index.js';
import { startDevserver, type Devserver } from '../devserver/index.js';
import { type Clock, AgentError, UnsupportedPlatformError, type LogLevel } from '../lib/index.js';
import {
  createPlatform,
  ExecFileRunner,
  rootFs,
  type PeerCredentials,
  type UserNotifier,
} from '../platform/index.js';
import type { ControlServer } from '../control/index.js';
import type { Agent } from './agent.js';
import { runAgent, type RunningAgent } from './run-agent.js';
import { startSystemDaemon } from './system.js';

export const DEV_V4_PREFIX = '127.100.0.0/16';
/** The one proxy address of the macOS demo. */
export const DEV_SHARED_ADDRESS = '127.0.0.1';

export interface DevOptions {
  readonly dataFile: string;
  readonly controllerPort: number;
  readonly workerPort: number;
  readonly dnsPort: number;
  readonly controlPort: number;
  /** Empty: the machine's own resolvers. */
  readonly upstreams: readonly UpstreamServer[];
  readonly logLevel: LogLevel;
  /** Per-user directory for state and logs; env-paths' by default. */
  readonly stateDir?: string | undefined;
  /** The demo login whose token is added for the current OS user. */
  readonly login?: { readonly name: string; readonly password: string };
  readonly clock: Clock;
  readonly log: Logger;
  readonly version: string;
  readonly platform?: string;
  /**
   * Proxy addresses without root: `range` (one per alias from 127.100.0.0/16; Linux) or `shared`
   * (127.0.0.1 for every alias; macOS). Default: by platform.
   */
  readonly proxyAddresses?: 'range' | 'shared' | undefined;
  /** Who is on the other end of a connection; the platform's by default (tests). */
  readonly peers?: PeerCredentials | undefined;
  /** Shows the notice of brokered credentials; the platform's by default (tests). */
  readonly notifier?: UserNotifier | undefined;
  /** As root: the full agent (addresses, port 53, resolver take-over) instead of the loopback one. */
  readonly system?: boolean;
  /** The uid of the user who ran sudo, whose token the demo adds in --system. */
  readonly sudoUid?: number | undefined;
  /** --system with systemd-resolved: which names it sends to the agent (dns_mode). */
  readonly dnsMode?: DnsMode | undefined;
  /** --system: the interface for the agent's addresses and resolver link (interface_to_use). */
  readonly interfaceToUse?: string | undefined;
}

export interface DevRun {
  readonly devserver: Devserver;
  readonly agent: Agent;
  readonly control: ControlServer;
  readonly config: AgentConfig;
  readonly removedTargets: readonly string[];
  readonly uid: number;
  close(): Promise<void>;
}

/** The per-user directory the demo keeps its state and log in. */
export function devStateDir(): string {
  return envPaths('client-agent', { suffix: '' }).data;
}

export async function startDev(options: DevOptions): Promise<DevRun> {
  const platform = options.platform ?? process.platform;
  if (platform !== 'linux' && platform !== 'darwin') throw new UnsupportedPlatformError(platform);
  const stateDir = options.stateDir ?? devStateDir();
  const prefix = parseV4Prefix(DEV_V4_PREFIX);
  if (typeof prefix === 'string') throw new AgentError('dev.prefix', prefix);
  const defaults = (await parseConfig('', null, { platform: 'linux', env: {} })).config;
  const config: AgentConfig = {
    ...defaults,
    logFile: path.join(stateDir, 'dev.log'),
    logLevel: options.logLevel,
    overrideUpstreamDnsServers: options.upstreams,
    stateFile: path.join(stateDir, 'dev-state.json'),
    operationalStateFile: path.join(stateDir, 'dev-operational-state.json'),
    listenPort: options.controlPort,
    ...(options.dnsMode === undefined ? {} : { dnsMode: options.dnsMode }),
    ...(options.interfaceToUse === undefined ? {} : { interfaceToUse: options.interfaceToUse }),
    // --system: the real addresses (v4_prefix, v6_prefix defaults); otherwise loopback only.
    ...(options.system === true ? {} : { v4Prefix: prefix, v6Prefix: null }),
  };
  const devserver = await startDevserver({
    dataFile: options.dataFile,
    host: '127.0.0.1',
    port: options.controllerPort,
    workerPort: options.workerPort,
    clock: options.clock,
    log: options.log,
  });
  const removedTargets: string[] = [];
  let stopAgent: (() => Promise<void>) | undefined;
  try {
    // ssh and PostgreSQL targets are offered only when something listens there.
    for (const target of [...devserver.directory.targets.values()]) {
      if (
        target.demo !== undefined ||
        (await listening(target.address, target.port, options.clock))
      )
        continue;
      for (const alias of [...devserver.directory.aliases.values()]) {
        if (alias.destinationId === target.id) devserver.directory.removeAlias(alias.id);
      }
      devserver.directory.removeTarget(target.id);
      removedTargets.push(`${target.name} (${target.address}:${target.port})`);
    }
    // Under sudo, the token belongs to the user who ran sudo.
    const uid =
      options.system === true && options.sudoUid !== undefined
        ? options.sudoUid
        : os.userInfo().uid;
    const running =
      options.system === true
        ? await startSystemDaemon({
            config,
            clock: options.clock,
            log: options.log,
            version: options.version,
          })
        : await startUnprivileged(config, uid, { ...options, platform });
    const { agent, control } = running;
    stopAgent = () => running.close();
    const login = options.login ?? { name: 'admin', password: 'password' };
    const client = new ControllerClient({ address: devserver.controller.address });
    try {
      const { token } = await client.authenticate(
        devserver.directory.authMethodId,
        login.name,
        login.password,
      );
      await agent.api.addToken(uid, devserver.controller.address, token);
    } finally {
      await client.close();
    }
    return {
      devserver,
      agent,
      control,
      config,
      removedTargets,
      uid,
      async close() {
        await running.close();
        await devserver.close();
      },
    };
  } catch (err) {
    await stopAgent?.();
    await devserver.close();
    throw err;
  }
}

/** The agent without root: DNS on 127.0.0.1, loopback proxy addresses, no OS change. */
async function startUnprivileged(
  config: AgentConfig,
  uid: number,
  options: DevOptions & { platform: string },
): Promise<RunningAgent> {
  // Only read from: the peer of a connection, and the resolvers the machine uses.
  const platform = createPlatform({
    platform: options.platform,
    runner: new ExecFileRunner(),
    fs: rootFs(),
    clock: options.clock,
    log: options.log,
  });
  const peers = options.peers ?? platform.peers;
  const shared =
    (options.proxyAddresses ?? (options.platform === 'darwin' ? 'shared' : 'range')) === 'shared';
  return runAgent({
    agent: {
      config,
      profile: {
        name: 'dev',
        dnsAddresses: ['127.0.0.1'],
        dnsPort: options.dnsPort,
        systemUpstreams:
          options.upstreams.length > 0
            ? []
            : await platform.resolver.upstreams(['127.0.0.1']).catch(() => []),
        sharedProxyAddress: shared ? DEV_SHARED_ADDRESS : undefined,
      },
      clock: options.clock,
      log: options.log,
      peers,
      version: options.version,
      // The demo runs as the user: the notice of brokered credentials (the demo PostgreSQL target
      // has some) goes to their own desktop.
      notifier: options.notifier ?? platform.notifier,
    },
    control: { port: options.controlPort, selfUid: uid },
  });
}

function listening(host: string, port: number, clock: Clock): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (up: boolean) => {
      timer.cancel();
      socket.destroy();
      resolve(up);
    };
    const timer = clock.setTimeout(() => {
      done(false);
    }, 300);
    socket.once('connect', () => {
      done(true);
    });
    socket.once('error', () => {
      done(false);
    });
  });
}
