/**
 * The running agent as the control API sees it (AgentControl): each call checked against the
 * caller's own token and sessions, answered from the agent's parts, and shaped by the control
 * API's views. The daemon's one place where a caller's request meets the agent.
 */
import type { Logger } from 'pino';
import { normalizeName, type AliasCache } from '../alias-cache/index.js';
import {
  normalizeControllerAddress,
  type ControllerPool,
  type SessionAuthorization,
  type WorkerDialer,
} from '../boundary/index.js';
import { formatUpstream, type AgentConfig } from '../config/index.js';
import {
  sessionItem,
  statusView,
  type AgentControl,
  type AgentDetails,
  type AgentSessionItem,
  type AgentSessionRecord,
  type AgentStatus,
  type AliasDiagnosis,
} from '../control/index.js';
import { checkAlias, type AliasCheckOptions } from '../diag/alias-checks.js';
import type { DnsService, RecentErrors } from '../dns/index.js';
import type { Clock } from '../lib/clock.js';
import { AgentError } from '../lib/errors.js';
import type { IpAllocator, AliasListeners, SessionManager } from '../proxy/index.js';
import type { AgentProfile } from './agent-options.js';
import type { RunControl } from './run-control.js';

/** Bound on authorizing, reading or cancelling a session for a control API caller. */
const CONTROLLER_CALL_MS = 30_000;

/** The agent's parts the control API reads and drives. */
export interface AgentParts {
  readonly cache: AliasCache;
  readonly sessions: SessionManager;
  readonly listeners: AliasListeners;
  readonly errors: RecentErrors;
  readonly run: RunControl;
  readonly controllers: ControllerPool;
  readonly worker: WorkerDialer;
  readonly profile: AgentProfile;
  readonly version: string;
  readonly clock: Clock;
  readonly log: Logger;
  readonly diag?: AliasCheckOptions | undefined;
  readonly config: () => AgentConfig;
  /** Set once the agent has started. */
  readonly allocator: () => IpAllocator | undefined;
  /** Set once the agent has started. */
  readonly dns: () => DnsService | undefined;
  /** The agent's own warnings, newest first. */
  readonly warnings: () => readonly string[];
}

export class ControlApi implements AgentControl {
  readonly #p: AgentParts;

  constructor(parts: AgentParts) {
    this.#p = parts;
  }

  status(uid: number, privileged = false): AgentStatus {
    const { cache, run, profile } = this.#p;
    return statusView({
      token: cache.tokenFor(uid),
      version: this.#p.version,
      status: run.state.status,
      pauseWarning: run.warning,
      tlsUnverified: this.#p.config().controllerTlsInsecure,
      listingRefused: cache.listingRefused(uid),
      errors: this.#p.errors.forStatus({ uid, privileged }),
      warnings: [...this.#p.warnings(), ...(profile.warnings?.() ?? [])],
    });
  }

  details(_uid: number): AgentDetails {
    const { cache, profile } = this.#p;
    const config = this.#p.config();
    const { status, reason } = this.#p.run.state;
    const refresh = cache.status().lastRefresh;
    const dns = this.#p.dns();
    return {
      status,
      ...(reason === undefined ? {} : { paused_reason: reason }),
      alias_count: cache.snapshot().size,
      ...(refresh === undefined
        ? {}
        : { last_refresh: { time: new Date(refresh.time).toISOString(), kind: refresh.kind } }),
      dns_addresses: this.#dnsAddresses(),
      upstreams: (dns?.forward.upstreams() ?? []).map(formatUpstream),
      listeners: this.#p.listeners
        .list()
        .map(({ address, port, alias }) => ({ address, port, alias })),
      users_with_tokens: cache.tokens().length,
      profile: profile.name,
      pid: process.pid,
      ...(profile.interface === undefined ? {} : { interface: profile.interface }),
      dns_port: dns?.server.addresses()[0]?.port ?? profile.dnsPort,
      v4_prefix: config.v4Prefix.cidr,
      ...(config.v6Prefix === null ? {} : { v6_prefix: config.v6Prefix.cidr }),
    };
  }

  hasToken(uid: number): boolean {
    return this.#p.cache.tokenFor(uid) !== undefined;
  }

  async pause(uid: number): Promise<void> {
    this.#p.log.info({ uid }, 'Pause requested.');
    await this.#p.run.pause('user');
  }

  async resume(uid: number): Promise<void> {
    this.#p.log.info({ uid }, 'Resume requested.');
    await this.#p.run.resume();
  }

  sessions(uid: number): AgentSessionItem[] {
    return this.#p.sessions.list(uid).map(sessionItem);
  }

  async authorizeSession(uid: number, target: string): Promise<SessionAuthorization> {
    if (this.#p.run.paused) {
      throw new AgentError('agent.paused', 'the agent is paused: it authorizes no sessions', {
        hint: 'Run "client-agent resume" first.',
      });
    }
    const signal = AbortSignal.timeout(CONTROLLER_CALL_MS);
    return (await this.#p.sessions.authorizeExplicit(uid, target, signal)).authorization;
  }

  async readSession(uid: number, sessionId: string): Promise<AgentSessionRecord> {
    const signal = AbortSignal.timeout(CONTROLLER_CALL_MS);
    const { alias, session } = await this.#p.sessions.read(uid, sessionId, signal);
    return { ...session, alias };
  }

  async cancelSession(uid: number, sessionId: string): Promise<AgentSessionRecord> {
    const signal = AbortSignal.timeout(CONTROLLER_CALL_MS);
    const { alias, session, canceled } = await this.#p.sessions.cancel(uid, sessionId, signal);
    return { ...session, alias, canceled };
  }

  /** A token for another controller replaces every token; 'token-removed' ends their sessions. */
  async addToken(
    uid: number,
    boundaryAddr: string,
    token: string,
    options: { allowPlainHttp?: boolean; waitForAliases?: boolean } = {},
  ): Promise<void> {
    const address = normalizeControllerAddress(boundaryAddr);
    this.#p.controllers.admit(uid, address, options.allowPlainHttp === true);
    await this.#p.cache.addToken(uid, address, token, {
      waitForAliases: options.waitForAliases !== false,
    });
  }

  async diagnoseAlias(uid: number, alias: string): Promise<AliasDiagnosis> {
    const { cache, log, sessions } = this.#p;
    log.info({ uid, alias }, 'Diagnosing an alias.');
    const allocator = this.#p.allocator();
    const source = {
      clock: this.#p.clock,
      log,
      state: () => this.#p.run.state,
      tokenFor: (u: number) => cache.tokenFor(u),
      controller: (address: string) => this.#p.controllers.client(address),
      refreshAliases: (u: number) => cache.refresh(u),
      aliasRefresh: (u: number) => {
        const { last, error } = cache.userStatus(u);
        return { last, error };
      },
      aliasesOf: (u: number) => [...cache.snapshot().entries()].filter((e) => e.uids.includes(u)),
      proxyAddresses: (value: string) => {
        if (allocator === undefined) throw new Error('the agent has not started');
        return allocator.assign(value);
      },
      worker: this.#p.worker,
      sessions,
    };
    const { steps, entry } = await checkAlias(source, uid, alias, this.#p.diag);
    return {
      alias: normalizeName(alias),
      steps,
      ...(entry === undefined || allocator === undefined
        ? {}
        : { proxy_addresses: allocator.assign(entry.value) }),
      dns_addresses: this.#dnsAddresses(),
      profile: this.#p.profile.name,
    };
  }

  #dnsAddresses(): string[] {
    return this.#p.dns()?.endpoints() ?? [];
  }
}
