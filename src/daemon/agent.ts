/**
 * The running agent: the alias cache, the DNS service, the proxy and its sessions, wired
 * together, with pause/resume (and the self-pause after a burst of controller failures), config
 * reload and the state files. The OS-facing parts (proxy addresses, resolver take-over) come in
 * through the profile, so the same agent runs as the root daemon and in the unprivileged demo.
 */
import type { Logger } from 'pino';
import { AliasCache, EMPTY_SNAPSHOT } from '../alias-cache/index.js';
import { ControllerPool, TLS_UNVERIFIED_LOG, WorkerDialer } from '../boundary/index.js';
import {
  planReload,
  type AgentConfig,
  type ConfigField,
  type ReloadTarget,
} from '../config/index.js';
import { DnsService, RecentErrors } from '../dns/index.js';
import { AgentError } from '../lib/errors.js';
import { WakeDetector } from '../lib/wake-detector.js';
import { LocalAddresses } from '../platform/index.js';
import {
  ControllerAuthorizer,
  createAllocator,
  createTransparentProxy,
  UnlistedAliases,
  type AddressAllocator,
  type AliasListeners,
  type SessionManager,
  type SharedAddressAllocator,
  type TransparentProxy,
} from '../proxy/index.js';
import type { AgentOptions } from './agent-options.js';
import { ControlApi } from './control-api.js';
import { RunControl } from './run-control.js';
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
  readonly #log: Logger;
  readonly #controllers: ControllerPool;
  readonly #run: RunControl;
  /** This machine's addresses: DNS queries and proxy connections from anywhere else are refused. */
  readonly #local: LocalAddresses;
  readonly #warnings: string[] = [];
  readonly #worker: WorkerDialer;
  readonly #unlisted: UnlistedAliases;
  readonly #wake: WakeDetector;
  readonly #proxy: TransparentProxy;
  #config: AgentConfig;
  #allocator: AddressAllocator | SharedAddressAllocator | undefined;
  #dns: DnsService | undefined;
  #started = false;

  constructor(options: AgentOptions) {
    const { clock, log, profile } = options;
    this.#o = options;
    this.#config = options.config;
    this.#log = log.child({ component: 'agent' });
    this.#controllers = new ControllerPool({
      caFile: options.config.controllerCaFile ?? undefined,
      insecure: options.config.controllerTlsInsecure,
      log: this.#log,
    });
    const client = (address: string) => this.#controllers.client(address);
    this.#run = new RunControl({
      file: options.config.operationalStateFile,
      clock,
      log: this.#log,
      selfPause: options.selfPause,
      onPause: async () => {
        await profile.resolver?.restore();
        await this.sessionManager.endAll('paused');
      },
      onResume: async () => {
        await profile.resolver?.apply();
      },
    });
    this.#wake = new WakeDetector({
      clock,
      onWake: (gapMs) => {
        this.#woke(gapMs);
      },
    });
    this.errors = new RecentErrors({ clock });
    this.#local = new LocalAddresses({ clock });
    this.cache = new AliasCache({
      clientFor: client,
      clock,
      log,
      refreshIntervalMs: options.config.aliasRefreshIntervalMs,
    });
    this.#worker = new WorkerDialer({ clock, log });
    this.#proxy = createTransparentProxy({
      snapshot: () => this.#snapshot(),
      authorizer: new ControllerAuthorizer({
        tokenFor: (uid) => this.cache.tokenFor(uid),
        clientFor: client,
        onControllerFailure: (error, uid) => {
          this.#controllerFailed(error, uid);
        },
      }),
      worker: this.#worker,
      peers: options.peers,
      isLocalPeer: (address) => this.#local.has(address),
      clock,
      log,
      spareConnections: options.config.preOpenWorkerConnections,
      notifier: options.notifier,
      onError: (message, uid) => {
        this.errors.record(new AgentError('proxy.connection', message), { uids: [uid] });
      },
    });
    this.sessionManager = this.#proxy.sessions;
    this.listeners = this.#proxy.listeners;
    this.#unlisted = new UnlistedAliases({
      candidates: () => (this.#run.paused ? [] : this.cache.listingRefusedUids()),
      acquire: (uid, alias, signal) => this.sessionManager.acquire(uid, alias, signal),
      learn: (uid, value, destinationId) => this.cache.learnAlias(uid, value, destinationId),
      clock,
      log,
    });
    this.cache.on('failure', (error, uid) => {
      this.#controllerFailed(error, uid);
    });
    this.cache.on('snapshot', (snapshot) => {
      void profile.resolver?.setAliases?.([...snapshot.entries()].map((e) => e.value));
    });
    this.cache.on('token-removed', (info, reason) => {
      this.#log.info({ uid: info.uid, reason }, 'Ending the sessions of a token that is gone.');
      void this.sessionManager.endForUid(info.uid, 'token');
    });
    this.api = new ControlApi({
      cache: this.cache,
      sessions: this.sessionManager,
      listeners: this.listeners,
      errors: this.errors,
      run: this.#run,
      controllers: this.#controllers,
      worker: this.#worker,
      profile,
      version: options.version,
      clock,
      log: this.#log,
      diag: options.diag,
      config: () => this.#config,
      allocator: () => this.#allocator,
      dns: () => this.#dns,
      warnings: () => this.#warnings,
    });
  }

  get config(): AgentConfig {
    return this.#config;
  }

  get state(): OperationalState {
    return this.#run.state;
  }

  /** The DNS server's bound addresses (after start). */
  get dnsAddresses(): string[] {
    return this.#dns?.endpoints() ?? [];
  }

  async start(): Promise<void> {
    const { config } = this;
    const { profile, clock, log } = this.#o;
    const saved = await readJson<RunState>(config.stateFile);
    await this.#run.load();
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
    const proxy = this.#proxy.readiness(
      this.#allocator,
      addAddress &&
        (async (ip) => {
          await addAddress(ip);
          this.#local.add(ip);
        }),
    );
    const dns = new DnsService({
      snapshot: () => this.#snapshot(),
      preparer: proxy,
      proxyAddresses: this.#allocator,
      paused: () => this.#run.paused,
      clock,
      log,
      errors: this.errors,
      alwaysForward: (name) =>
        this.#controllers.isControllerName(name, this.cache.controllerAddress()),
      unlisted: (name, signal) => {
        const first = this.cache.firstListing();
        if (first === undefined) return this.#unlisted.lookup(name, signal);
        return first.then(
          () => this.#snapshot().lookup(name) ?? this.#unlisted.lookup(name, signal),
        );
      },
      config,
      addresses: profile.dnsAddresses,
      port: profile.dnsPort,
      systemUpstreams: profile.systemUpstreams,
      server: {
        describePortOwner: profile.describePortOwner,
        isLocalClient: (address) => this.#local.has(address),
      },
    });
    this.#dns = dns;
    await dns.start();
    profile.onUpstreams?.((upstreams) => {
      dns.setSystemUpstreams(upstreams);
    });
    this.#wake.start();
    // Slower paths this machine is left with: in the log once, and in every status
    for (const slower of [dns.udpFallback, await this.#o.peers.slowLookups?.()]) {
      if (slower === undefined) continue;
      this.#log.warn(slower);
      this.#warnings.unshift(slower);
    }
    this.#started = true;
    if (config.controllerTlsInsecure) {
      this.#log.warn({ controller_tls_insecure: true }, TLS_UNVERIFIED_LOG);
    }
    await this.#saveRunState();
    if (!this.#run.paused) await profile.resolver?.apply();
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
    if (!this.#run.paused) await this.#o.profile.resolver?.restore();
    await removeFile(this.#config.stateFile);
    await this.#controllers.close();
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
      this.#warnings.unshift(`${field} changed in the config file: restart the agent to apply it`);
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

  /** A refresh or an authorization (with `uid`'s token) that got no answer. */
  #controllerFailed(error: AgentError, uid: number): void {
    // the path may name the user's alias (authorize-session): for that user and root only
    this.errors.record(error, { uids: [uid] });
    this.#run.controllerFailed();
  }

  #snapshot() {
    return this.#run.paused ? EMPTY_SNAPSHOT : this.cache.snapshot();
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
