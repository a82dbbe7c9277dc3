/**
 * The running agent: the alias cache, the DNS service, the proxy and its sessions, wired
 * together, with pause/resume (and the self-pause after a burst of controller failures), config
 * reload and the state files. The OS-facing parts (proxy addresses, resolver take-over) come in
 * through the profile, so the same agent runs as the root daemon and in the unprivileged demo.
 */
import type { Logger } from 'pino';
import { AliasCache } from '../alias-cache/index.js';
import { TLS_UNVERIFIED_LOG } from '../boundary/index.js';
import {
  planReload,
  type AgentConfig,
  type ConfigField,
  type ReloadTarget,
} from '../config/index.js';
import { DnsService, RecentErrors, resolveUdpIo } from '../dns/index.js';
import { WakeDetector } from '../lib/index.js';
import { loadUdpBatch } from '../platform/index.js';
import {
  createAllocator,
  type AddressAllocator,
  type AliasListeners,
  type SessionManager,
  type SharedAddressAllocator,
} from '../proxy/index.js';
import type { AgentOptions } from './agent-options.js';
import { createAgentParts, type AgentParts } from './agent-parts.js';
import { ControlApi } from './control-api.js';
import {
  readJson,
  removeFile,
  writeRunState,
  type OperationalState,
  type RunState,
} from './state-files.js';

export type { AgentOptions, AgentProfile } from './agent-options.js';

export class Agent {
  /** What the control API calls. */
  readonly api: ControlApi;
  readonly cache: AliasCache;
  readonly sessionManager: SessionManager;
  readonly listeners: AliasListeners;
  readonly errors: RecentErrors;
  readonly #o: AgentOptions;
  readonly #p: AgentParts;
  readonly #log: Logger;
  readonly #wake: WakeDetector;
  #config: AgentConfig;
  #allocator: AddressAllocator | SharedAddressAllocator | undefined;
  #dns: DnsService | undefined;
  #started = false;

  constructor(options: AgentOptions) {
    this.#o = options;
    this.#config = options.config;
    const parts = createAgentParts(options);
    this.#p = parts;
    this.#log = parts.log;
    ({ cache: this.cache, errors: this.errors } = parts);
    this.sessionManager = parts.proxy.sessions;
    this.listeners = parts.proxy.listeners;
    this.#wake = new WakeDetector({
      clock: options.clock,
      onWake: (gapMs) => {
        this.#woke(gapMs);
      },
    });
    this.api = new ControlApi(parts, options, {
      config: () => this.#config,
      allocator: () => this.#allocator,
      dns: () => this.#dns,
    });
  }

  get config(): AgentConfig {
    return this.#config;
  }

  get state(): OperationalState {
    return this.#p.run.state;
  }

  /** The DNS server's bound addresses (after start). */
  get dnsAddresses(): string[] {
    return this.#dns?.endpoints() ?? [];
  }

  async start(): Promise<void> {
    const { config } = this;
    const { profile, clock, log } = this.#o;
    const saved = await readJson<RunState>(config.stateFile);
    await this.#p.run.load();
    const own = new Set(profile.dnsAddresses);
    this.#allocator = createAllocator({
      shared: profile.sharedProxyAddress,
      v4Prefix: config.v4Prefix,
      v6Prefix: config.v6Prefix,
      isTaken: (ip) => own.has(ip) || profile.isAddressTaken?.(ip) === true,
      saved: saved?.addresses,
      log,
    });
    const addAddress = profile.addAddress;
    const proxy = this.#p.proxy.readiness(
      this.#allocator,
      addAddress &&
        (async (ip) => {
          await addAddress(ip);
          this.#p.local.add(ip);
        }),
    );
    const udp = resolveUdpIo('auto', loadUdpBatch);
    const dns = new DnsService({
      snapshot: () => this.#p.snapshot(),
      preparer: proxy,
      proxyAddresses: this.#allocator,
      paused: () => this.#p.run.paused,
      clock,
      log,
      errors: this.errors,
      alwaysForward: (name) =>
        this.#p.controllers.isControllerName(name, this.cache.controllerAddress()),
      unlisted: this.#p.unlisted,
      config,
      addresses: profile.dnsAddresses,
      port: profile.dnsPort,
      systemUpstreams: profile.systemUpstreams,
      udpBatch: udp.addon,
      server: {
        describePortOwner: profile.describePortOwner,
        isLocalClient: (address) => this.#p.local.has(address),
      },
    });
    this.#dns = dns;
    await dns.start();
    profile.onUpstreams?.((upstreams) => {
      dns.setSystemUpstreams(upstreams);
    });
    this.#wake.start();
    // Slower paths this machine is left with: in the log once, and in every status
    const udpFallback =
      udp.fallback === undefined
        ? undefined
        : `DNS over UDP uses Node's dgram, slower under heavy load: ${udp.fallback}`;
    for (const slower of [udpFallback, await this.#o.peers.slowLookups?.()]) {
      if (slower === undefined) continue;
      this.#log.warn(slower);
      this.#p.warnings.unshift(slower);
    }
    this.#started = true;
    if (config.controllerTlsInsecure) {
      this.#log.warn({ controller_tls_insecure: true }, TLS_UNVERIFIED_LOG);
    }
    await this.#saveRunState();
    if (!this.#p.run.paused) await profile.resolver?.apply();
    this.#log.info(
      { profile: profile.name, dns: this.dnsAddresses, status: this.state.status },
      'Agent started.',
    );
  }

  /** Stops in reverse order: DNS, sessions (cancelled), listeners, resolver restored, state file removed. */
  async close(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    this.#wake.close();
    await this.#dns?.close();
    await this.sessionManager.endAll('stopped');
    await this.listeners.close();
    this.cache.close();
    if (!this.#p.run.paused) await this.#o.profile.resolver?.restore();
    await removeFile(this.#config.stateFile);
    await this.#p.controllers.close();
    this.#log.info('Agent stopped.');
  }

  /** SIGHUP: applies what can change now; the rest is reported as needing a restart. */
  reload(next: AgentConfig): { applied: ConfigField[]; needsRestart: ConfigField[] } {
    const previous = this.#config;
    const plan = planReload(previous, next);
    const config = plan.config;
    this.#config = config;
    // One action per part that applies reloaded fields (the field table names the part).
    const actions: Record<ReloadTarget, () => void> = {
      'alias-refresh': () => {
        this.cache.setRefreshInterval(config.aliasRefreshIntervalMs);
      },
      dns: () => this.#dns?.reload(config),
      logging: () =>
        this.#o.logger?.configure({
          level: config.logLevel,
          file: config.logFile,
          toStdout: config.logToStdout,
        }),
      addresses: () => this.#allocator?.setV4Prefix(config.v4Prefix),
      'state-file': () => void this.#moveStateFile(previous.stateFile),
    };
    for (const target of plan.targets) actions[target]();
    for (const field of plan.needsRestart) {
      this.#p.warnings.unshift(
        `${field} changed in the config file: restart the agent to apply it`,
      );
    }
    this.#log.info(
      { applied: plan.apply, needsRestart: plan.needsRestart },
      'Configuration reloaded.',
    );
    return { applied: [...plan.apply], needsRestart: [...plan.needsRestart] };
  }

  // --- internals -----------------------------------------------------------------------------

  /** After a sleep: the aliases may be stale and the network another one. */
  #woke(gapMs: number): void {
    this.#log.info(
      { gap_s: Math.round(gapMs / 1000) },
      'The machine slept or the clock jumped: refreshing the aliases and checking the network.',
    );
    for (const token of this.cache.tokens()) void this.cache.refresh(token.uid);
    void this.#o.profile.recheck?.().catch((error: unknown) => {
      this.#log.warn({ err: error }, 'Could not re-check the network after a sleep.');
    });
  }

  /** state_file changed on reload: the run state is written at the new path, the old one goes. */
  async #moveStateFile(from: string): Promise<void> {
    const to = this.#config.stateFile;
    try {
      await this.#saveRunState();
      await removeFile(from);
      this.#log.info({ from, to }, 'The state file moved.');
    } catch (err) {
      this.#log.error(
        { err: (err as Error).message, to },
        'Could not move the state file; the old one stays.',
      );
    }
  }

  async #saveRunState(): Promise<void> {
    const allocator = this.#allocator;
    if (allocator !== undefined)
      await writeRunState(this.#config.stateFile, allocator.export(), this.#o.clock.now());
  }
}
