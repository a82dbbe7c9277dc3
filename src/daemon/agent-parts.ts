/**
 * The agent's long-lived parts, built once and wired to each other: the controller clients, the
 * run state, the recent errors, the alias cache, the worker dialer and the transparent proxy.
 * What the DNS server and the proxy see is `snapshot()`: the aliases, or none while paused.
 */
import type { Logger } from 'pino';
import { AliasCache, EMPTY_SNAPSHOT, type AliasSnapshot } from '../alias-cache/index.js';
import { ControllerPool, WorkerDialer } from '../boundary/index.js';
import { RecentErrors, type DnsServiceOptions } from '../dns/index.js';
import { AgentError } from '../lib/index.js';
import { LocalAddresses } from '../platform/index.js';
import {
  ControllerAuthorizer,
  createTransparentProxy,
  UnlistedAliases,
  type TransparentProxy,
} from '../proxy/index.js';
import type { AgentOptions } from './agent-options.js';
import { RunControl } from './run-control.js';

export interface AgentParts {
  /** The agent's logger (component `agent`). */
  readonly log: Logger;
  readonly controllers: ControllerPool;
  readonly run: RunControl;
  readonly errors: RecentErrors;
  /** This machine's addresses: DNS queries and proxy connections from anywhere else are refused. */
  readonly local: LocalAddresses;
  readonly cache: AliasCache;
  readonly worker: WorkerDialer;
  readonly proxy: TransparentProxy;
  /**
   * A name that is in no snapshot: after a first listing still under way, then tried at the
   * controller for a user who may not list aliases (UnlistedAliases).
   */
  readonly unlisted: NonNullable<DnsServiceOptions['unlisted']>;
  /** The aliases the DNS server and the proxy serve: none while paused. */
  snapshot(): AliasSnapshot;
  /** The agent's own warnings for `status`, newest first. */
  readonly warnings: string[];
}

export function createAgentParts(options: AgentOptions): AgentParts {
  const { clock, config, profile } = options;
  const log = options.log.child({ component: 'agent' });
  const controllers = new ControllerPool({
    caFile: config.controllerCaFile ?? undefined,
    insecure: config.controllerTlsInsecure,
    clock,
    log,
  });
  const clientFor = (address: string) => controllers.client(address);
  const errors = new RecentErrors({ clock });
  const run: RunControl = new RunControl({
    file: config.operationalStateFile,
    clock,
    log,
    selfPause: options.selfPause,
    onPause: async () => {
      await profile.resolver?.restore();
      await proxy.sessions.endAll('paused');
    },
    onResume: async () => {
      await profile.resolver?.apply();
    },
  });
  // A refresh or an authorization (with `uid`'s token) that got no answer; the path may name
  // the user's alias (authorize-session): recorded for that user and root only.
  const controllerFailed = (error: AgentError, uid: number): void => {
    errors.record(error, { uids: [uid] });
    run.controllerFailed();
  };
  const cache = new AliasCache({
    clientFor,
    clock,
    log: options.log,
    refreshIntervalMs: config.aliasRefreshIntervalMs,
  });
  const snapshot = () => (run.paused ? EMPTY_SNAPSHOT : cache.snapshot());
  const local = new LocalAddresses({ clock });
  const worker = new WorkerDialer({ clock, log: options.log });
  const authorizer = new ControllerAuthorizer({
    tokenFor: (uid) => cache.tokenFor(uid),
    clientFor,
    onControllerFailure: controllerFailed,
  });
  const proxy = createTransparentProxy({
    snapshot,
    authorizer,
    readTarget: (uid, targetId, signal) => authorizer.readTarget(uid, targetId, signal),
    worker,
    peers: options.peers,
    isLocalPeer: (address) => local.has(address),
    clock,
    log: options.log,
    spareConnections: config.preOpenWorkerConnections,
    notifier: options.notifier,
    onError: (message, uid) => {
      errors.record(new AgentError('proxy.connection', message), { uids: [uid] });
    },
  });
  const unlistedAliases = new UnlistedAliases({
    candidates: () => (run.paused ? [] : cache.listingRefusedUids()),
    asker: proxy.asker,
    acquire: (uid, alias, signal) => proxy.sessions.acquire(uid, alias, signal),
    learn: (uid, value, destinationId) => cache.learnAlias(uid, value, destinationId),
    clock,
    log: options.log,
  });
  const unlisted: AgentParts['unlisted'] = (name, origin, signal) => {
    const first = cache.firstListing();
    if (first === undefined) return unlistedAliases.lookup(name, origin, signal);
    return first.then(
      () => snapshot().lookup(name) ?? unlistedAliases.lookup(name, origin, signal),
    );
  };
  cache.on('failure', controllerFailed);
  cache.on('snapshot', (next) => {
    void profile.resolver?.setAliases?.([...next.entries()].map((e) => e.value));
  });
  cache.on('token-removed', (info, reason) => {
    log.info({ uid: info.uid, reason }, 'Ending the sessions of a token that is gone.');
    void proxy.sessions.endForUid(info.uid, 'token');
  });
  return {
    log,
    controllers,
    run,
    errors,
    local,
    cache,
    worker,
    proxy,
    unlisted,
    snapshot,
    warnings: [],
  };
}
