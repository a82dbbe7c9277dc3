/**
 * The running agent: the alias cache, the DNS service, the proxy and its sessions, wired
 * together, with pause/resume (and the self-pause after a burst of controller failures), config
 * reload and the state files. The OS-facing parts (proxy addresses, resolver take-over) come in
 * through the profile, so the same agent runs as the root daemon and in the unprivileged demo.
 */
import os from 'node:os';
import type { Logger } from 'pino';
import { AliasCache, EMPTY_SNAPSHOT, normalizeName } from '../alias-cache/index.js';
import { ControllerClient, PlainHttpError, sendsInClear } from '../boundary/controller-client.js';
import { normalizeControllerAddress } from '../boundary/controller-address.js';
import type { SessionAuthorization } from '../boundary/api-types.js';
import { WorkerDialer } from '../boundary/worker-dialer.js';
import {
  formatUpstream,
  planReload,
  type AgentConfig,
  type ConfigField,
  type UpstreamServer,
} from '../config/index.js';
import type {
  AgentControl,
  AgentDetails,
  AliasDiagnosis,
  AgentSessionItem,
  AgentSessionRecord,
  AgentStatus,
} from '../control/agent-api.js';
import { checkAlias, type AliasCheckOptions, type AliasCheckSource } from '../diag/alias-checks.js';
import { DnsService, RecentErrors } from '../dns/index.js';
import type { Clock } from '../lib/clock.js';
import type { AgentLogger } from '../lib/logger.js';
import { AgentError } from '../lib/errors.js';
import { LocalAddresses } from '../platform/local-addresses.js';
import type { PeerCredentials } from '../platform/types.js';
import type { UserNotifier } from '../platform/platform.js';
import { CredentialsNotices } from '../proxy/credentials-notice.js';
import {
  AddressAllocator,
  ConnectionHandler,
  ControllerAuthorizer,
  cryptoRandom,
  SharedAddressAllocator,
  ProxyListeners,
  ProxyService,
  queryAsker,
  SessionManager,
  UnlistedAliases,
  type QueryAsker,
} from '../proxy/index.js';
import { WakeDetector } from '../lib/wake-detector.js';
import { FailureWindow } from './failure-window.js';
import {
  operationalState,
  readJson,
  removeFile,
  writeJson,
  type OperationalState,
  type RunState,
} from './state-files.js';

/** The grant a Boundary user needs for its aliases to be listed (Boundary's client-agent docs). */
const LISTING_GRANT = 'type=user;ids=*;actions=list-resolvable-aliases';

/** Bound on authorizing, reading or cancelling a session for a control API caller. */
const CONTROLLER_CALL_MS = 30_000;

export interface AgentProfile {
  readonly name: 'system' | 'dev';
  /** The interface the agent's addresses go on (system profile). */
  readonly interface?: string | undefined;
  readonly dnsAddresses: readonly string[];
  readonly dnsPort: number;
  /** The resolvers the machine used before the agent: where other names go. */
  readonly systemUpstreams: readonly UpstreamServer[];
  /** Puts a proxy address on the machine before the proxy listens on it (none on loopback). */
  readonly addAddress?: ((ip: string) => Promise<void>) | undefined;
  /** Names who holds a port the DNS server cannot bind (for the error message). */
  readonly describePortOwner?:
    ((address: string, port: number) => Promise<string | undefined>) | undefined;
  /**
   * Every alias answers this one address (no IPv6) instead of its own from v4_prefix: the macOS
   * demo without root, where 127.0.0.1 is the only loopback address.
   */
  readonly sharedProxyAddress?: string | undefined;
  /** What the profile's own state makes worse or repaired (addresses on loopback...). */
  readonly warnings?: (() => readonly string[]) | undefined;
  /** Tells `listener` when the network's resolvers change (other names go there from then on). */
  readonly onUpstreams?: ((listener: (u: readonly UpstreamServer[]) => void) => void) | undefined;
  /** Re-checks the addresses, the link and the resolver now (after a resume from sleep). */
  readonly recheck?: (() => Promise<void>) | undefined;
  /**
   * Makes the OS use our DNS, and gives the previous resolvers back (none in the demo);
   * `setAliases` gets every alias snapshot (split DNS routes those names to the agent).
   */
  readonly resolver?:
    | {
        apply(): Promise<void>;
        restore(): Promise<void>;
        setAliases?(names: readonly string[]): Promise<void>;
      }
    | undefined;
}

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

export class Agent implements AgentControl {
  readonly cache: AliasCache;
  readonly sessionManager: SessionManager;
  readonly listeners: ProxyListeners;
  readonly errors: RecentErrors;
  readonly #o: AgentOptions;
  readonly #log: Logger;
  readonly #clients = new Map<string, ControllerClient>();
  /** Controller addresses a token's owner allowed over plain HTTP (add-token --allow-plain-http). */
  readonly #plainHttpAllowed = new Set<string>();
  readonly #failures: FailureWindow;
  /** This machine's addresses: DNS queries and proxy connections from anywhere else are refused. */
  readonly #local: LocalAddresses;
  readonly #warnings: string[] = [];
  readonly #worker: WorkerDialer;
  readonly #unlisted: UnlistedAliases;
  readonly #authorizer: ControllerAuthorizer;
  /** Who asked a DNS query: the only user whose session it may warm. */
  readonly #asker: QueryAsker;
  #config: AgentConfig;
  #allocator: AddressAllocator | SharedAddressAllocator | undefined;
  #dns: DnsService | undefined;
  #state: OperationalState = { status: 'running' };
  #controllerHost: { readonly address: string; readonly host: string } | undefined;
  #started = false;
  #systemUpstreams: readonly UpstreamServer[];
  readonly #wake: WakeDetector;

  constructor(options: AgentOptions) {
    this.#o = options;
    this.#config = options.config;
    this.#log = options.log.child({ component: 'agent' });
    this.#systemUpstreams = options.profile.systemUpstreams;
    this.#wake = new WakeDetector({
      clock: options.clock,
      onWake: (gapMs) => {
        this.#woke(gapMs);
      },
    });
    this.errors = new RecentErrors({ clock: options.clock });
    this.#local = new LocalAddresses({ clock: options.clock });
    this.#failures = new FailureWindow({
      clock: options.clock,
      ...(options.selfPause ?? { limit: 10, windowMs: 60_000 }),
    });
    this.cache = new AliasCache({
      clientFor: (address) => this.#client(address),
      clock: options.clock,
      log: options.log,
      refreshIntervalMs: options.config.aliasRefreshIntervalMs,
    });
    const worker = new WorkerDialer({ clock: options.clock, log: options.log });
    this.#worker = worker;
    const notices =
      options.notifier === undefined
        ? undefined
        : new CredentialsNotices({ notifier: options.notifier, log: options.log });
    this.#authorizer = new ControllerAuthorizer({
      tokenFor: (uid) => this.cache.tokenFor(uid),
      clientFor: (address) => this.#client(address),
      onControllerFailure: (error, uid) => {
        this.#controllerFailed(error, uid);
      },
    });
    this.#asker = queryAsker({ peers: options.peers, clock: options.clock });
    this.sessionManager = new SessionManager({
      authorizer: this.#authorizer,
      worker,
      clock: options.clock,
      log: options.log,
      spareConnections: options.config.preOpenWorkerConnections,
      onEstablished: notices?.established,
    });
    const handler = new ConnectionHandler({
      sessions: this.sessionManager,
      worker,
      peers: options.peers,
      isLocalPeer: (address) => this.#local.has(address),
      entitled: (uid, alias) => {
        const entry = this.#snapshot().lookup(alias);
        return entry?.uids.includes(uid) === true ? entry : undefined;
      },
      ...(options.config.preOpenWorkerConnections
        ? { aliasEntry: (alias: string) => this.#snapshot().lookup(alias) }
        : {}),
      log: options.log,
      onError: (message, uid) => {
        this.errors.record(new AgentError('proxy.connection', message), { uids: [uid] });
      },
    });
    this.listeners = new ProxyListeners({ handler, log: options.log });
    this.#unlisted = new UnlistedAliases({
      candidates: () => (this.#state.status === 'paused' ? [] : this.cache.listingRefusedUids()),
      asker: this.#asker,
      acquire: (uid, alias, signal) => this.sessionManager.acquire(uid, alias, signal),
      learn: (uid, value, destinationId) => this.cache.learnAlias(uid, value, destinationId),
      clock: options.clock,
      log: options.log,
    });
    this.cache.on('failure', (error, uid) => {
      this.#controllerFailed(error, uid);
    });
    this.cache.on('snapshot', (snapshot) => {
      void this.#o.profile.resolver?.setAliases?.([...snapshot.entries()].map((e) => e.value));
    });
    this.cache.on('token-removed', (info, reason) => {
      this.#log.info({ uid: info.uid, reason }, 'Ending the sessions of a token that is gone.');
      void this.sessionManager.endForUid(info.uid, 'token');
    });
  }

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

  /** A refresh or an authorization (with `uid`'s token) that got no answer: a burst pauses the agent. */
  #controllerFailed(error: AgentError, uid: number): void {
    // the path may name the user's alias (authorize-session): for that user and root only
    this.errors.record(error, { uids: [uid] });
    if (this.#failures.record() && this.#state.status === 'running') {
      void this.#pause(
        'the agent paused itself after repeated network failures to the controller; run "client-agent resume" when the network is back',
      );
    }
  }

  get config(): AgentConfig {
    return this.#config;
  }

  get state(): OperationalState {
    return this.#state;
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
    const config = this.#config;
    const saved = await readJson<RunState>(config.stateFile);
    this.#state = operationalState(await readJson(config.operationalStateFile));
    const own = new Set(this.#o.profile.dnsAddresses);
    const onMachine = new Set(
      Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address)),
    );
    const shared = this.#o.profile.sharedProxyAddress;
    this.#allocator =
      shared !== undefined
        ? new SharedAddressAllocator(shared)
        : new AddressAllocator({
            v4Prefix: config.v4Prefix,
            v6Prefix: config.v6Prefix,
            random: cryptoRandom,
            isTaken: (ip) =>
              own.has(ip) || (this.#o.profile.name === 'system' && onMachine.has(ip)),
            saved: saved?.addresses,
            log: this.#o.log,
          });
    const proxy = new ProxyService({
      allocator: this.#allocator,
      sessions: this.sessionManager,
      listeners: this.listeners,
      asker: this.#asker,
      readTarget: (uid, targetId, signal) => this.#authorizer.readTarget(uid, targetId, signal),
      addAddress: this.#addAddress(),
      log: this.#o.log,
    });
    this.#dns = new DnsService({
      snapshot: () => this.#snapshot(),
      preparer: proxy,
      proxyAddresses: this.#allocator,
      paused: () => this.#state.status === 'paused',
      clock: this.#o.clock,
      log: this.#o.log,
      errors: this.errors,
      alwaysForward: (name) => this.#isControllerName(name),
      unlisted: (name, origin, signal) => {
        const first = this.cache.firstListing();
        if (first === undefined) return this.#unlisted.lookup(name, origin, signal);
        return first.then(
          () => this.#snapshot().lookup(name) ?? this.#unlisted.lookup(name, origin, signal),
        );
      },
      config,
      addresses: this.#o.profile.dnsAddresses,
      port: this.#o.profile.dnsPort,
      systemUpstreams: this.#o.profile.systemUpstreams,
      server: {
        describePortOwner: this.#o.profile.describePortOwner,
        isLocalClient: (address) => this.#local.has(address),
      },
    });
    await this.#dns.start();
    const dns = this.#dns;
    this.#o.profile.onUpstreams?.((upstreams) => {
      this.#systemUpstreams = upstreams;
      dns.setSystemUpstreams(upstreams);
    });
    this.#wake.start();
    // Slower paths this machine is left with: in the log once, and in every status
    for (const slower of [this.#dns.udpFallback, await this.#o.peers.slowLookups?.()]) {
      if (slower === undefined) continue;
      this.#log.warn(slower);
      this.#warnings.unshift(slower);
    }
    this.#started = true;
    if (config.controllerTlsInsecure) {
      this.#log.warn(
        { controller_tls_insecure: true },
        'TLS certificate verification of the controller is OFF: anyone on the network path can read the Boundary tokens the agent sends. Development only: set controller_ca_file instead.',
      );
    }
    await this.#saveRunState();
    if (this.#state.status === 'running') await this.#o.profile.resolver?.apply();
    this.#log.info(
      { profile: this.#o.profile.name, dns: this.dnsAddresses, status: this.#state.status },
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
    if (this.#state.status === 'running') await this.#o.profile.resolver?.restore();
    await removeFile(this.#config.stateFile);
    await Promise.all([...this.#clients.values()].map((c) => c.close()));
    this.#log.info('Agent stopped.');
  }

  /** SIGHUP: applies what can change now; the rest is reported as needing a restart. */
  reload(next: AgentConfig): { applied: ConfigField[]; needsRestart: ConfigField[] } {
    const previous = this.#config;
    const plan = planReload(previous, next);
    this.#config = plan.config;
    for (const field of plan.apply) {
      if (field === 'aliasRefreshIntervalMs')
        this.cache.setRefreshInterval(plan.config.aliasRefreshIntervalMs);
      if (field === 'v4Prefix') this.#allocator?.setV4Prefix(plan.config.v4Prefix);
      if (field === 'stateFile') void this.#moveStateFile(previous.stateFile);
    }
    this.#dns?.reload(plan.config);
    if (plan.apply.some((f) => f === 'logLevel' || f === 'logFile' || f === 'logToStdout')) {
      this.#o.logger?.configure({
        level: plan.config.logLevel,
        file: plan.config.logFile,
        toStdout: plan.config.logToStdout,
      });
    }
    for (const field of plan.needsRestart) {
      this.#warnings.unshift(`${field} changed in the config file: restart the agent to apply it`);
    }
    this.#log.info(
      { applied: plan.apply, needsRestart: plan.needsRestart },
      'Configuration reloaded.',
    );
    return { applied: [...plan.apply], needsRestart: [...plan.needsRestart] };
  }

  // --- AgentControl ---------------------------------------------------------------------------

  status(uid: number, privileged = false): AgentStatus {
    const token = this.cache.tokenFor(uid);
    const notices: string[] = [];
    if (this.#config.controllerTlsInsecure) {
      notices.push(
        "the controller's TLS certificate is not verified (controller_tls_insecure = true): tokens can be read on the network path",
      );
    }
    if (token !== undefined && sendsInClear(token.controllerAddress)) {
      notices.push(
        `your token goes to ${token.controllerAddress} over plain HTTP (allowed with --allow-plain-http): it can be read on the network path`,
      );
    }
    if (this.cache.listingRefused(uid)) {
      notices.push(
        `your Boundary user may not list its aliases (it lacks the grant "${LISTING_GRANT}"): every name this machine looks up is tried at the controller as an alias (a name that is none is not tried again for a minute); ask your Boundary administrator for the grant`,
      );
    }
    return {
      boundary_addr: token?.controllerAddress ?? '',
      auth_token_id: token?.tokenId ?? '',
      auth_token_expiry:
        token?.expiration === undefined ? null : new Date(token.expiration).toISOString(),
      version: this.#o.version,
      status: this.#state.status,
      errors: this.errors.forStatus({ uid, privileged }),
      warnings: [
        ...(this.#state.status === 'paused' &&
        this.#state.reason !== 'user' &&
        this.#state.reason !== undefined
          ? [this.#state.reason]
          : []),
        ...notices,
        ...this.#warnings,
        ...(this.#o.profile.warnings?.() ?? []),
      ],
    };
  }

  details(_uid: number): AgentDetails {
    const refresh = this.cache.status().lastRefresh;
    const upstreams =
      this.#config.overrideUpstreamDnsServers.length > 0
        ? this.#config.overrideUpstreamDnsServers
        : this.#systemUpstreams;
    return {
      status: this.#state.status,
      ...(this.#state.reason === undefined ? {} : { paused_reason: this.#state.reason }),
      alias_count: this.cache.snapshot().size,
      ...(refresh === undefined
        ? {}
        : { last_refresh: { time: new Date(refresh.time).toISOString(), kind: refresh.kind } }),
      dns_addresses: this.dnsAddresses,
      upstreams: upstreams.map(formatUpstream),
      listeners: this.listeners
        .list()
        .map(({ address, port, alias }) => ({ address, port, alias })),
      users_with_tokens: this.cache.tokens().length,
      profile: this.#o.profile.name,
      pid: process.pid,
      ...(this.#o.profile.interface === undefined ? {} : { interface: this.#o.profile.interface }),
      dns_port: this.#dns?.server.addresses()[0]?.port ?? this.#o.profile.dnsPort,
      v4_prefix: this.#config.v4Prefix.cidr,
      ...(this.#config.v6Prefix === null ? {} : { v6_prefix: this.#config.v6Prefix.cidr }),
    };
  }

  hasToken(uid: number): boolean {
    return this.cache.tokenFor(uid) !== undefined;
  }

  async pause(uid: number): Promise<void> {
    this.#log.info({ uid }, 'Pause requested.');
    await this.#pause('user');
  }

  async resume(uid: number): Promise<void> {
    this.#log.info({ uid }, 'Resume requested.');
    if (this.#state.status === 'running') return;
    this.#failures.reset();
    this.#state = { status: 'running' };
    await this.#o.profile.resolver?.apply();
    await writeJson(this.#config.operationalStateFile, this.#state);
  }

  sessions(uid: number): AgentSessionItem[] {
    return this.sessionManager.list(uid).map((s) => ({
      alias: s.alias,
      session_authorization: withoutAuthorizationToken(s.authorization),
      connections: s.connections,
      bytes_up: s.bytesUp,
      bytes_down: s.bytesDown,
      expiration: new Date(s.expiresAt).toISOString(),
    }));
  }

  async authorizeSession(uid: number, target: string): Promise<SessionAuthorization> {
    if (this.#state.status === 'paused') {
      throw new AgentError('agent.paused', 'the agent is paused: it authorizes no sessions', {
        hint: 'Run "client-agent resume" first.',
      });
    }
    const session = await this.sessionManager.authorizeExplicit(
      uid,
      target,
      AbortSignal.timeout(CONTROLLER_CALL_MS),
    );
    return session.authorization;
  }

  async readSession(uid: number, sessionId: string): Promise<AgentSessionRecord> {
    const { alias, session } = await this.sessionManager.read(
      uid,
      sessionId,
      AbortSignal.timeout(CONTROLLER_CALL_MS),
    );
    return { ...session, alias };
  }

  async cancelSession(uid: number, sessionId: string): Promise<AgentSessionRecord> {
    const { alias, session, canceled } = await this.sessionManager.cancel(
      uid,
      sessionId,
      AbortSignal.timeout(CONTROLLER_CALL_MS),
    );
    return { ...session, alias, canceled };
  }

  /**
   * A token for another controller replaces every token; 'token-removed' ends their sessions. A
   * token never goes to a controller over plain HTTP (but on loopback) unless its owner allowed it.
   */
  async addToken(
    uid: number,
    boundaryAddr: string,
    token: string,
    options: { allowPlainHttp?: boolean; waitForAliases?: boolean } = {},
  ): Promise<void> {
    const address = normalizeControllerAddress(boundaryAddr);
    if (sendsInClear(address)) {
      if (options.allowPlainHttp !== true) throw new PlainHttpError(address);
      if (!this.#plainHttpAllowed.has(address)) {
        this.#log.warn(
          { uid, controller: address },
          'A token was allowed over plain HTTP by its owner: it can be read on the network path.',
        );
      }
      this.#plainHttpAllowed.add(address);
    }
    await this.cache.addToken(uid, address, token, {
      waitForAliases: options.waitForAliases !== false,
    });
  }

  async diagnoseAlias(uid: number, alias: string): Promise<AliasDiagnosis> {
    this.#log.info({ uid, alias }, 'Diagnosing an alias.');
    const { steps, entry } = await checkAlias(this.#diagSource(), uid, alias, this.#o.diag);
    return {
      alias: normalizeName(alias),
      steps,
      ...(entry === undefined || this.#allocator === undefined
        ? {}
        : { proxy_addresses: this.#allocator.assign(entry.value) }),
      dns_addresses: this.dnsAddresses,
      profile: this.#o.profile.name,
    };
  }

  // --- internals -----------------------------------------------------------------------------

  async #pause(reason: string): Promise<void> {
    if (this.#state.status === 'paused') return;
    this.#state = { status: 'paused', reason };
    this.#log.warn({ reason }, 'Agent paused.');
    await this.#o.profile.resolver?.restore();
    await this.sessionManager.endAll('paused');
    await writeJson(this.#config.operationalStateFile, this.#state);
  }

  #diagSource(): AliasCheckSource {
    return {
      clock: this.#o.clock,
      log: this.#log,
      state: () => this.#state,
      tokenFor: (uid) => this.cache.tokenFor(uid),
      controller: (address) => this.#client(address),
      refreshAliases: (uid) => this.cache.refresh(uid),
      aliasRefresh: (uid) => {
        const { last, error } = this.cache.userStatus(uid);
        return { last, error };
      },
      aliasesOf: (uid) => [...this.cache.snapshot().entries()].filter((e) => e.uids.includes(uid)),
      proxyAddresses: (alias) => {
        if (this.#allocator === undefined) throw new Error('the agent has not started');
        return this.#allocator.assign(alias);
      },
      worker: this.#worker,
      currentSession: (uid, alias) => this.sessionManager.current(uid, alias),
    };
  }

  /** The profile's way to put a proxy address on the machine, telling #local at once. */
  #addAddress(): ((ip: string) => Promise<void>) | undefined {
    const add = this.#o.profile.addAddress;
    if (add === undefined) return undefined;
    return async (ip) => {
      await add(ip);
      this.#local.add(ip);
    };
  }

  #snapshot() {
    return this.#state.status === 'paused' ? EMPTY_SNAPSHOT : this.cache.snapshot();
  }

  #isControllerName(name: string): boolean {
    const address = this.cache.controllerAddress();
    if (address === undefined) return false;
    // Asked on every alias answer: parse the controller's host name only when it changes.
    if (this.#controllerHost?.address !== address) {
      this.#controllerHost = { address, host: normalizeName(new URL(address).hostname) };
    }
    return this.#controllerHost.host === normalizeName(name);
  }

  #client(address: string): ControllerClient {
    let client = this.#clients.get(address);
    if (client === undefined) {
      client = new ControllerClient({
        address,
        caFile: this.#config.controllerCaFile ?? undefined,
        insecure: this.#config.controllerTlsInsecure,
        allowPlainHttp: this.#plainHttpAllowed.has(address),
      });
      this.#clients.set(address, client);
    }
    return client;
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

/**
 * The session as `sessions` shows it to its owner: everything but the authorization token, which
 * holds the session's private key (the agent alone uses it; brokered credentials stay).
 */
function withoutAuthorizationToken(
  authorization: SessionAuthorization,
): AgentSessionItem['session_authorization'] {
  return Object.fromEntries(
    Object.entries(authorization).filter(([key]) => key !== 'authorization_token'),
  ) as AgentSessionItem['session_authorization'];
}
