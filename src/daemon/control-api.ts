/**
 * The running agent as the control API sees it (AgentControl): each call checked against the
 * caller's own token and sessions, answered from the agent's parts, and shaped by the control
 * API's views. The daemon's one place where a caller's request meets the agent.
 */
import { normalizeName } from '../alias-cache/index.js';
import { normalizeControllerAddress, type SessionAuthorization } from '../boundary/index.js';
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
import { checkAlias } from '../diag/index.js';
import type { DnsService } from '../dns/index.js';
import { AgentError, withTimeout } from '../lib/index.js';
import type { IpAllocator } from '../proxy/index.js';
import type { AgentOptions } from './agent-options.js';
import type { AgentParts } from './agent-parts.js';

/** Bound on authorizing, reading or cancelling a session for a control API caller. */
const CONTROLLER_CALL_MS = 30_000;

/** What exists only once the agent has started, and the config in force. */
export interface StartedParts {
  readonly config: () => AgentConfig;
  readonly allocator: () => IpAllocator | undefined;
  readonly dns: () => DnsService | undefined;
}

export class ControlApi implements AgentControl {
  readonly #p: AgentParts;
  readonly #o: AgentOptions;
  readonly #started: StartedParts;

  constructor(parts: AgentParts, options: AgentOptions, started: StartedParts) {
    this.#p = parts;
    this.#o = options;
    this.#started = started;
  }

  status(uid: number, privileged = false): AgentStatus {
    const { cache, run } = this.#p;
    const { profile } = this.#o;
    return statusView({
      token: cache.tokenFor(uid),
      version: this.#o.version,
      status: run.state.status,
      pauseWarning: run.warning,
      tlsUnverified: this.#started.config().controllerTlsInsecure,
      listingRefused: cache.listingRefused(uid),
      errors: this.#p.errors.forStatus({ uid, privileged }),
      warnings: [...this.#p.warnings, ...(profile.warnings?.() ?? [])],
    });
  }

  details(_uid: number): AgentDetails {
    const { cache } = this.#p;
    const { profile } = this.#o;
    const config = this.#started.config();
    const { status, reason } = this.#p.run.state;
    const refresh = cache.status().lastRefresh;
    const dns = this.#started.dns();
    return {
      status,
      ...(reason === undefined ? {} : { paused_reason: reason }),
      alias_count: cache.snapshot().size,
      ...(refresh === undefined
        ? {}
        : { last_refresh: { time: new Date(refresh.time).toISOString(), kind: refresh.kind } }),
      dns_addresses: this.#dnsAddresses(),
      upstreams: (dns?.forward.upstreams() ?? []).map(formatUpstream),
      listeners: this.#p.proxy.listeners
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
    return this.#p.proxy.sessions.list(uid).map(sessionItem);
  }

  async authorizeSession(uid: number, target: string): Promise<SessionAuthorization> {
    if (this.#p.run.paused) {
      throw new AgentError('agent.paused', 'the agent is paused: it authorizes no sessions', {
        hint: 'Run "client-agent resume" first.',
      });
    }
    const session = await withTimeout(this.#o.clock, CONTROLLER_CALL_MS, (signal) =>
      this.#p.proxy.sessions.authorizeExplicit(uid, target, signal),
    );
    return session.authorization;
  }

  async readSession(uid: number, sessionId: string): Promise<AgentSessionRecord> {
    const { alias, session } = await withTimeout(this.#o.clock, CONTROLLER_CALL_MS, (signal) =>
      this.#p.proxy.sessions.read(uid, sessionId, signal),
    );
    return { ...session, alias };
  }

  async cancelSession(uid: number, sessionId: string): Promise<AgentSessionRecord> {
    const { alias, session, canceled } = await withTimeout(
      this.#o.clock,
      CONTROLLER_CALL_MS,
      (signal) => this.#p.proxy.sessions.cancel(uid, sessionId, signal),
    );
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
    const { cache, log } = this.#p;
    const { sessions } = this.#p.proxy;
    log.info({ uid, alias }, 'Diagnosing an alias.');
    const allocator = this.#started.allocator();
    const source = {
      clock: this.#o.clock,
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
    const { steps, entry } = await checkAlias(source, uid, alias, this.#o.diag);
    return {
      alias: normalizeName(alias),
      steps,
      ...(entry === undefined || allocator === undefined
        ? {}
        : { proxy_addresses: allocator.assign(entry.value) }),
      dns_addresses: this.#dnsAddresses(),
      profile: this.#o.profile.name,
    };
  }

  #dnsAddresses(): string[] {
    return this.#started.dns()?.endpoints() ?? [];
  }
}
