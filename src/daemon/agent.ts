/**
 * The running agent: the alias cache, the DNS service, the proxy and its sessions, wired
 * together, with pause/resume (and the self-pause after a burst of controller failures), config
 * reload and the state files. The OS-facing parts (proxy addresses, resolver take-over) come in
 * through the profile, so the same agent runs as the root daemon and in the unprivileged demo.
 */
import type { Logger } from 'pino';
import { AliasCache, EMPTY_SNAPSHOT } from '../alias-cache/index.js';
import { ControllerPool, TLS_UNVERIFIED_LOG } from '../boundary/index.js';
import { WorkerDialer } from '../boundary/worker-dialer.js';
import {
  planReload,
  type AgentConfig,
  type ConfigField,
  type ReloadTarget,
} from '../config/index.js';
import type { AliasCheckOptions } from '../diag/alias-checks.js';
import { DnsService, RecentErrors } from '../dns/index.js';
import type { Clock } from '../lib/clock.js';
import type { AgentLogger } from '../lib/logger.js';
import { AgentError } from '../lib/errors.js';
import { LocalAddresses } from '../platform/local-addresses.js';
import type { PeerCredentials } from '../platform/types.js';
import type { UserNotifier } from '../platform/platform.js';
import {
  AddressAllocator,
  ControllerAuthorizer,
  createTransparentProxy,
  cryptoRandom,
  SharedAddressAllocator,
  type AliasListeners,
  type SessionManager,
  type TransparentProxy,
  UnlistedAliases,
} from '../proxy/index.js';
import { WakeDetector } from '../lib/wake-detector.js';
import { ControlApi } from './control-api.js';
import type { AgentProfile } from './profile.js';
import { RunControl } from './run-control.js';
import {
  readJson,
  removeFile,
  writeJson,
  type OperationalState,
  type RunState,
} from './state-files.js';

export type { AgentProfile } from './profile.js';

export interface AgentOptions {
  readonly config: AgentConfig;
  readonly profile: AgentProfile;
  readonly clock: Clock;
  readonly log: Logger;
  /** The process logger, reconfigured on reload (level, file, stdout); absent in some tests. */
  readonly logger?: Pick<AgentLogger, 'configure'> | undefined;
  readonly peers: PeerCredentials;
  readonly version: string;
  /** Timing of `client-agent diag ALIAS` (tests shorten the wait for a target failure). */
  readonly diag?: AliasCheckOptions | undefined;
  /** The self-pause rule; default 10 failures in 60 s. */
  readonly selfPause?: { readonly limit: number; readonly windowMs: number };
  /** Tells a token's owner on their desktop when a session has brokered credentials; none: no notice. */
  readonly notifier?: UserNotifier | undefined;
}

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
      dnsAddresses: () => this.dnsAddresses,
      dnsPort: () => this.#dns?.server.addresses()[0]?.port ?? profile.dnsPort,
      upstreams: () => this.#dns?.forward.upstreams() ?? [],
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
    return (
      this.#dns?.server
        .addresses()
        .map((a) =>
          a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`,
        ) ?? []
    );
  }

  async start(): Promise<void> {
    const { config } = this;
    const { profile, clock, log } = this.#o;
    const saved = await readJson<RunState>(config.stateFile);
    await this.#run.load();
    const own = new Set(profile.dnsAddresses);
    this.#allocator =
      profile.sharedProxyAddress !== undefined
        ? new SharedAddressAllocator(profile.sharedProxyAddress)
        : new AddressAllocator({
            v4Prefix: config.v4Prefix,
            v6Prefix: config.v6Prefix,
            random: cryptoRandom,
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
    try {
      await this.#saveRunState();
      await removeFile(from);
      this.#log.info({ from, to: this.#config.stateFile }, 'The state file moved.');
    } catch (err) {
      this.#log.error(
        { err: (err as Error).message, to: this.#config.stateFile },
        'Could not move the state file; the old one stays.',
      );
    }
  }

  async #saveRunState(): Promise<void> {
    if (this.#allocator === undefined) return;
    const state: RunState = {
      pid: process.pid,
      startedAt: new Date(this.#o.clock.now()).toISOString(),
      addresses: this.#allocator.export(),
    };
    await writeJson(this.#config.stateFile, state);
  }
}
