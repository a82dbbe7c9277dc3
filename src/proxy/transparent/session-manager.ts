/**
 * Sessions per (OS user, alias): authorized on first need, reused for every connection while
 * valid and with connections left (one tofu token per session), renewed after expiry, limit or
 * cancellation. Credentials live here, in memory, and leave with the session. A session the
 * agent drops before it expires is cancelled at the worker.
 *
 * Also the sessions authorized for `client-agent connect` and `client-agent diag` (explicit
 * sessions: the caller relays them itself; the transparent proxy never uses them), and, for
 * every session the agent authorized, reading and cancelling it for its owner only.
 */
import type { Logger } from 'pino';
import type { AliasEntry } from '../../alias-cache/index.js';
import {
  type Session,
  type SessionAuthorization,
  type Target,
  decodeAuthorizationToken,
  type SessionAuthorizationData,
  cancelAtController,
  cancelAtWorkerOrController,
  sessionIsOver,
  type CancelPath,
  newTofuToken,
} from '../../boundary/index.js';
import {
  type Clock,
  type TimerHandle,
  AgentError,
  timeoutSignal,
  RateLimiter,
  type RateLimit,
} from '../../lib/index.js';
import { SessionLedger, type LedgerEntry } from './session-ledger.js';
import { SpareConnections } from './spare-connections.js';
import type { PreparedConnection, SessionAuthorizer, WorkerConnector } from '../types.js';

export type SessionEndReason =
  'expired' | 'exhausted' | 'canceled' | 'token' | 'paused' | 'stopped' | 'worker';

/** A session the agent authorized and holds: its credentials stay in memory here until it ends. */
export interface HeldSession {
  readonly uid: number;
  /** The alias value; for an explicit session, the alias or target id it was asked for. */
  readonly alias: string;
  /** Authorized for `client-agent connect` or diag: relayed by the caller, never by the proxy. */
  readonly explicit: boolean;
  readonly authorization: SessionAuthorization;
  readonly data: SessionAuthorizationData;
  readonly tofu: string;
  /** The local port the proxy listens on for this alias. */
  readonly port: number;
  readonly createdAt: number;
  readonly expiresAt: number;
  /** -1: unlimited; otherwise what the worker said after the last connection. */
  connectionsLeft: number;
  connections: number;
  bytesUp: number;
  bytesDown: number;
  ended: SessionEndReason | undefined;
}

export interface SessionManagerOptions {
  readonly authorizer: SessionAuthorizer;
  readonly worker: WorkerConnector;
  readonly clock: Clock;
  readonly log: Logger;
  /** How long cancelling at the worker may take; default 10 s. */
  readonly cancelTimeoutMs?: number;
  /** New authorizations per OS user: default 20 at once, then 1 a second. */
  readonly authorizationRate?: RateLimit;
  /**
   * Keep one worker connection per proxy session set up ahead (TLS + WebSocket, no handshake),
   * for the next client; default true. See spare-connections.ts.
   */
  readonly spareConnections?: boolean;
  /** How long an unused spare is kept; default 60 s. */
  readonly spareMaxAgeMs?: number;
  /**
   * Called once per proxy session, when it is established: at its first connection the worker
   * accepted (the handshake done). Authorization alone is not it: the DNS lookup authorizes ahead,
   * often for a client that never connects, and a session the worker refuses carries no usable
   * credentials. Must not throw or block (the desktop notice of brokered credentials).
   */
  readonly onEstablished?: ((session: HeldSession) => void) | undefined;
}

/** A session as its owner reads it: the controller's record and what it was authorized for. */
export interface OwnedSession {
  readonly alias: string;
  readonly session: Session;
}

/** No session with this id was authorized by the agent for this OS user. */
export class SessionNotFoundError extends AgentError {
  constructor(sessionId: string) {
    super('proxy.session_not_found', `no agent-managed session ${sessionId} is yours`, {
      hint: 'Use an id that "client-agent sessions" or "client-agent connect" showed you; other sessions are not the agent’s to show.',
    });
  }
}

const DEFAULT_AUTHORIZATION_RATE: RateLimit = { burst: 20, perSecond: 1 };

/** The port a session's proxy listens on: the target's default client port, else its port. */
export function listenPort(data: SessionAuthorizationData): number {
  return data.defaultClientPort !== 0 ? data.defaultClientPort : data.endpointPort;
}

/** The same port from a target read: its default_client_port, else its default_port (0: none). */
export function targetListenPort(target: Target): number {
  const { default_client_port: client = 0, default_port: port = 0 } = target.attributes ?? {};
  return client !== 0 ? client : port;
}

export class SessionManager {
  readonly #o: SessionManagerOptions;
  readonly #log: Logger;
  readonly #sessions = new Map<string, HeldSession>();
  readonly #pending = new Map<string, Promise<HeldSession>>();
  readonly #expiry = new Map<HeldSession, TimerHandle>();
  readonly #ledger = new SessionLedger();
  readonly #rate: RateLimiter;
  readonly #spares: SpareConnections | undefined;

  constructor(options: SessionManagerOptions) {
    this.#o = options;
    this.#log = options.log.child({ component: 'sessions' });
    this.#spares =
      options.spareConnections === false
        ? undefined
        : new SpareConnections({
            worker: options.worker,
            clock: options.clock,
            log: this.#log,
            ...(options.spareMaxAgeMs === undefined ? {} : { maxAgeMs: options.spareMaxAgeMs }),
          });
    this.#rate = new RateLimiter({
      ...(options.authorizationRate ?? DEFAULT_AUTHORIZATION_RATE),
      clock: options.clock,
    });
  }

  /** The live session of (uid, alias), if any. */
  current(uid: number, alias: string): HeldSession | undefined {
    const session = this.#sessions.get(key(uid, alias));
    return session !== undefined && this.#usable(session) ? session : undefined;
  }

  /** The uid's live sessions, or everyone's. */
  list(uid?: number): HeldSession[] {
    return [...this.#sessions.values()].filter(
      (s) => (uid === undefined || s.uid === uid) && this.#usable(s),
    );
  }

  /**
   * A usable session for (uid, alias): the current one, or a new authorization. Callers asking
   * for the same key while one is under way share it; new authorizations are rate-limited per uid.
   */
  acquire(uid: number, alias: AliasEntry, signal: AbortSignal): Promise<HeldSession> {
    const k = key(uid, alias.value);
    const existing = this.#sessions.get(k);
    if (existing !== undefined && this.#usable(existing)) return Promise.resolve(existing);
    if (existing !== undefined) this.#end(existing, existing.ended ?? 'expired');
    let pending = this.#pending.get(k);
    if (pending === undefined) {
      const refused = this.#rateLimited(uid, alias.value);
      if (refused !== undefined) return Promise.reject(refused);
      pending = this.#authorize(uid, alias.value, false, signal).finally(() =>
        this.#pending.delete(k),
      );
      this.#pending.set(k, pending);
    }
    return pending;
  }

  /** A new session for `client-agent connect`, by alias value or target id. */
  authorizeExplicit(uid: number, target: string, signal: AbortSignal): Promise<HeldSession> {
    return this.#authorize(uid, target, true, signal);
  }

  /**
   * A session for `client-agent diag` to try the path with: authorized within the same rate
   * limit as proxy sessions and kept in the ledger, but relayed by diag itself, never by the
   * proxy. End it with endProbe.
   */
  authorizeProbe(uid: number, alias: string, signal: AbortSignal): Promise<HeldSession> {
    const refused = this.#rateLimited(uid, alias);
    if (refused !== undefined) return Promise.reject(refused);
    return this.#authorize(uid, alias, true, signal);
  }

  /**
   * Cancels a probe session: at the worker when the worker accepted it (else asking the worker
   * again would only wait for it), else through the controller.
   */
  async endProbe(
    session: HeldSession,
    workerAccepted: boolean,
    signal: AbortSignal,
  ): Promise<CancelPath> {
    const { uid, data } = session;
    const entry = this.#owned(uid, data.sessionId);
    const { canceled } = await this.#cancel(uid, data.sessionId, entry, workerAccepted, signal);
    this.#log.info({ uid, session: data.sessionId, canceled }, 'Probe session canceled.');
    return canceled;
  }

  /** One of `uid`'s sessions, as the controller has it now. */
  async read(uid: number, sessionId: string, signal: AbortSignal): Promise<OwnedSession> {
    const entry = this.#owned(uid, sessionId);
    const session = await this.#o.authorizer.read(uid, sessionId, signal);
    this.#noteOver(entry, session);
    return { alias: entry.alias, session };
  }

  /**
   * Cancels one of `uid`'s sessions: at the worker while the agent holds its credentials, else
   * (or when the worker cannot be reached) through the controller; then reads it back.
   */
  async cancel(
    uid: number,
    sessionId: string,
    signal: AbortSignal,
  ): Promise<OwnedSession & { readonly canceled: CancelPath }> {
    const entry = this.#owned(uid, sessionId);
    const done = await this.#cancel(uid, sessionId, entry, true, signal);
    const session = done.session ?? (await this.#o.authorizer.read(uid, sessionId, signal));
    this.#noteOver(entry, session);
    this.#log.info(
      { uid, session: sessionId, canceled: done.canceled },
      'Session canceled for its owner.',
    );
    return { alias: entry.alias, session, canceled: done.canceled };
  }

  /**
   * The session's spare worker connection (set up ahead, nothing sent), taken: undefined when it
   * has none that came up and is still open. Only the session's owner may be handed it.
   */
  takeSpare(session: HeldSession): Promise<PreparedConnection | undefined> {
    return this.#spares?.take(session) ?? Promise.resolve(undefined);
  }

  /** Whether the session holds a spare worker connection (ready or being set up). */
  hasSpare(session: HeldSession): boolean {
    return this.#spares?.has(session) === true;
  }

  /**
   * Sets up the session's next spare, unless it has one or no connection is left. The connection
   * handler calls it once a new connection is under way (see there for when).
   */
  refillSpare(session: HeldSession): void {
    if (session.connectionsLeft !== 0) this.#fillSpare(session);
  }

  /** Spare worker connections: sessions holding one, and how many were set up so far. */
  spareCounts(): { held: number; prepared: number } {
    return { held: this.#spares?.size ?? 0, prepared: this.#spares?.prepared ?? 0 };
  }

  /** After a worker handshake: how many connections the session has left. */
  noteConnection(session: HeldSession, connectionsLeft: number): void {
    session.connections++;
    session.connectionsLeft = connectionsLeft;
    if (session.connections === 1) this.#o.onEstablished?.(session);
    if (connectionsLeft === 0) {
      // Used up: the next connection authorizes a new session. Live connections go on.
      this.#log.debug(
        { uid: session.uid, alias: session.alias, session: session.data.sessionId },
        'Session has no connections left.',
      );
      this.#end(session, 'exhausted');
    }
  }

  /** The worker refused the session (limit reached elsewhere, canceled, unknown): renew next time. */
  invalidate(session: HeldSession, reason: SessionEndReason): void {
    this.#end(session, reason);
  }

  /** Ends every session of `uid` (token expired or replaced), cancelling at the worker. */
  async endForUid(uid: number, reason: SessionEndReason): Promise<void> {
    await Promise.all(this.list(uid).map((s) => this.#drop(s, reason)));
  }

  /** Ends every session (pause, stop, controller change), cancelling at the worker. */
  async endAll(reason: SessionEndReason): Promise<void> {
    await Promise.all(this.list().map((s) => this.#drop(s, reason)));
  }

  /** The typed refusal when `uid` has used up its new authorizations for now. */
  #rateLimited(uid: number, alias: string): AgentError | undefined {
    if (this.#rate.take(uid)) return undefined;
    const { burst, perSecond } = this.#o.authorizationRate ?? DEFAULT_AUTHORIZATION_RATE;
    this.#log.warn({ uid, alias }, 'Too many session authorizations; refused one.');
    return new AgentError(
      'proxy.rate_limited',
      `too many new sessions for OS user ${uid}: at most ${burst} at once and ${perSecond * 60} a minute`,
      { hint: 'Wait a little; sessions already authorized keep working.' },
    );
  }

  /**
   * Ends the agent's hold on a ledger session and cancels it: at the worker while the agent
   * holds its credentials and time is left (unless `atWorker` is false), else through the
   * controller. The controller's record comes back when it was asked.
   */
  async #cancel(
    uid: number,
    sessionId: string,
    entry: LedgerEntry,
    atWorker: boolean,
    signal: AbortSignal,
  ): Promise<{ canceled: CancelPath; session?: Session }> {
    const live = entry.live;
    const held = live !== undefined && live.expiresAt > this.#o.clock.now() ? live : undefined;
    if (held !== undefined) this.#end(held, 'canceled');
    let session: Session | undefined;
    const canceled = await cancelAtWorkerOrController({
      worker: held !== undefined && atWorker ? () => this.#cancelAtWorker(held) : undefined,
      controller: async () => {
        const done = await cancelAtController(
          {
            read: (s) => this.#o.authorizer.read(uid, sessionId, s),
            cancel: (version, s) => this.#o.authorizer.cancel(uid, sessionId, version, s),
          },
          signal,
        );
        session = done.session;
        return done.path;
      },
      onFailure: (way, err) => {
        if (way === 'worker') this.#workerCancelFailed(sessionId, err);
      },
    });
    return session === undefined ? { canceled } : { canceled, session };
  }

  async #authorize(
    uid: number,
    alias: string,
    explicit: boolean,
    signal: AbortSignal,
  ): Promise<HeldSession> {
    const authorization = await this.#o.authorizer.authorize(uid, alias, signal);
    const data = decodeAuthorizationToken(authorization.authorization_token);
    const now = this.#o.clock.now();
    const expiresAt = data.expiration?.getTime() ?? now;
    const session: HeldSession = {
      uid,
      alias,
      explicit,
      authorization,
      data,
      tofu: newTofuToken(),
      port: listenPort(data),
      createdAt: now,
      expiresAt,
      connectionsLeft: data.connectionLimit,
      connections: 0,
      bytesUp: 0,
      bytesDown: 0,
      ended: undefined,
    };
    if (!explicit) this.#sessions.set(key(uid, alias), session);
    this.#ledger.add(session);
    // The first client's worker connection gets under way at once (it is usually waiting).
    this.#fillSpare(session);
    this.#expiry.set(
      session,
      this.#o.clock.setTimeout(() => {
        this.#end(session, 'expired');
      }, expiresAt - now),
    );
    this.#log.info(
      {
        uid,
        alias,
        explicit,
        session: data.sessionId,
        port: session.port,
        expires: new Date(expiresAt).toISOString(),
      },
      'Session authorized.',
    );
    return session;
  }

  /** A spare for a live proxy session that has none (explicit sessions are relayed elsewhere). */
  #fillSpare(session: HeldSession): void {
    if (!session.explicit && this.#usable(session)) this.#spares?.fill(session);
  }

  #usable(session: HeldSession): boolean {
    return session.ended === undefined && session.expiresAt > this.#o.clock.now();
  }

  /** Forgets the session: the next connection authorizes a new one. */
  #end(session: HeldSession, reason: SessionEndReason): void {
    this.#spares?.drop(session);
    const k = key(session.uid, session.alias);
    if (this.#sessions.get(k) === session) this.#sessions.delete(k);
    this.#expiry.get(session)?.cancel();
    this.#expiry.delete(session);
    this.#ledger.ended(session);
    if (session.ended !== undefined) return;
    session.ended = reason;
    this.#log.info(
      { uid: session.uid, alias: session.alias, session: session.data.sessionId, reason },
      'Session ended.',
    );
  }

  /** Ends a live session the agent drops, and cancels it at the worker while time is left. */
  async #drop(session: HeldSession, reason: SessionEndReason): Promise<void> {
    this.#end(session, reason);
    if (session.expiresAt <= this.#o.clock.now()) return;
    await this.#cancelAtWorker(session).catch((err: unknown) => {
      this.#workerCancelFailed(session.data.sessionId, err);
    });
  }

  /** SESSION_CANCEL at the worker, bounded by cancelTimeoutMs. */
  #cancelAtWorker(session: HeldSession): Promise<void> {
    const bound = timeoutSignal(this.#o.clock, this.#o.cancelTimeoutMs ?? 10_000);
    return this.#o.worker
      .cancelSession(session.data, session.tofu, bound.signal)
      .finally(bound.cancel);
  }

  #workerCancelFailed(sessionId: string, err: unknown): void {
    this.#log.warn(
      { session: sessionId, err: (err as Error).message },
      'Could not cancel the session at the worker.',
    );
  }

  #owned(uid: number, sessionId: string): LedgerEntry {
    const entry = this.#ledger.get(uid, sessionId);
    if (entry === undefined) throw new SessionNotFoundError(sessionId);
    return entry;
  }

  /** The controller says the session is over: the agent lets it go too. */
  #noteOver(entry: LedgerEntry, session: Session): void {
    if (entry.live !== undefined && sessionIsOver(session)) {
      this.#end(entry.live, 'canceled');
    }
  }
}

function key(uid: number, alias: string): string {
  return `${uid}\u0000${alias}`;
}
