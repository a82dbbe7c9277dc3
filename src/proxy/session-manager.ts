/**
 * Sessions per (OS user, alias): authorized on first need, reused for every connection while
 * valid and with connections left (one tofu token per session), renewed after expiry, limit or
 * cancellation. Credentials live here, in memory, and leave with the session. A session the
 * agent drops before it expires is cancelled at the worker.
 */
import type { Logger } from 'pino';
import type { AliasEntry } from '../alias-cache/snapshot.js';
import type { SessionAuthorization } from '../boundary/api-types.js';
import {
  decodeAuthorizationToken,
  type SessionAuthorizationData,
} from '../boundary/authz-token.js';
import { newTofuToken } from '../boundary/worker-dialer.js';
import type { Clock, TimerHandle } from '../lib/clock.js';
import { AgentError } from '../lib/errors.js';
import { RateLimiter, type RateLimit } from '../lib/rate-limiter.js';
import type { SessionAuthorizer, WorkerConnector } from './types.js';

export type SessionEndReason =
  'expired' | 'exhausted' | 'canceled' | 'token' | 'paused' | 'stopped' | 'worker';

export interface ProxySession {
  readonly uid: number;
  readonly alias: string;
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
}

const DEFAULT_AUTHORIZATION_RATE: RateLimit = { burst: 20, perSecond: 1 };

/** The port a session's proxy listens on: the target's default client port, else its port. */
export function listenPort(data: SessionAuthorizationData): number {
  return data.defaultClientPort !== 0 ? data.defaultClientPort : data.endpointPort;
}

export class SessionManager {
  readonly #o: SessionManagerOptions;
  readonly #log: Logger;
  readonly #sessions = new Map<string, ProxySession>();
  readonly #pending = new Map<string, Promise<ProxySession>>();
  readonly #expiry = new Map<ProxySession, TimerHandle>();
  readonly #rate: RateLimiter;

  constructor(options: SessionManagerOptions) {
    this.#o = options;
    this.#log = options.log.child({ component: 'sessions' });
    this.#rate = new RateLimiter({
      ...(options.authorizationRate ?? DEFAULT_AUTHORIZATION_RATE),
      clock: options.clock,
    });
  }

  /** The live session of (uid, alias), if any. */
  current(uid: number, alias: string): ProxySession | undefined {
    const session = this.#sessions.get(key(uid, alias));
    return session !== undefined && this.#usable(session) ? session : undefined;
  }

  /** The uid's live sessions, or everyone's. */
  list(uid?: number): ProxySession[] {
    return [...this.#sessions.values()].filter(
      (s) => (uid === undefined || s.uid === uid) && this.#usable(s),
    );
  }

  /**
   * A usable session for (uid, alias): the current one, or a new authorization. Callers asking
   * for the same key while one is under way share it; new authorizations are rate-limited per uid.
   */
  acquire(uid: number, alias: AliasEntry, signal: AbortSignal): Promise<ProxySession> {
    const k = key(uid, alias.value);
    const existing = this.#sessions.get(k);
    if (existing !== undefined && this.#usable(existing)) return Promise.resolve(existing);
    if (existing !== undefined) this.#end(existing, existing.ended ?? 'expired');
    let pending = this.#pending.get(k);
    if (pending === undefined) {
      if (!this.#rate.take(uid)) {
        const { burst, perSecond } = this.#o.authorizationRate ?? DEFAULT_AUTHORIZATION_RATE;
        this.#log.warn(
          { uid, alias: alias.value },
          'Too many session authorizations; refused one.',
        );
        return Promise.reject(
          new AgentError(
            'proxy.rate_limited',
            `too many new sessions for OS user ${uid}: at most ${burst} at once and ${perSecond * 60} a minute`,
            { hint: 'Wait a little; sessions already authorized keep working.' },
          ),
        );
      }
      pending = this.#authorize(uid, alias, signal).finally(() => this.#pending.delete(k));
      this.#pending.set(k, pending);
    }
    return pending;
  }

  /** After a worker handshake: how many connections the session has left. */
  noteConnection(session: ProxySession, connectionsLeft: number): void {
    session.connections++;
    session.connectionsLeft = connectionsLeft;
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
  invalidate(session: ProxySession, reason: SessionEndReason): void {
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

  async #authorize(uid: number, alias: AliasEntry, signal: AbortSignal): Promise<ProxySession> {
    const authorization = await this.#o.authorizer.authorize(uid, alias, signal);
    const data = decodeAuthorizationToken(authorization.authorization_token);
    const now = this.#o.clock.now();
    const expiresAt = data.expiration?.getTime() ?? now;
    const session: ProxySession = {
      uid,
      alias: alias.value,
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
    this.#sessions.set(key(uid, alias.value), session);
    this.#expiry.set(
      session,
      this.#o.clock.setTimeout(() => {
        this.#end(session, 'expired');
      }, expiresAt - now),
    );
    this.#log.info(
      {
        uid,
        alias: alias.value,
        session: data.sessionId,
        port: session.port,
        expires: new Date(expiresAt).toISOString(),
      },
      'Session authorized.',
    );
    return session;
  }

  #usable(session: ProxySession): boolean {
    return session.ended === undefined && session.expiresAt > this.#o.clock.now();
  }

  /** Forgets the session: the next connection authorizes a new one. */
  #end(session: ProxySession, reason: SessionEndReason): void {
    const k = key(session.uid, session.alias);
    if (this.#sessions.get(k) === session) this.#sessions.delete(k);
    this.#expiry.get(session)?.cancel();
    this.#expiry.delete(session);
    if (session.ended !== undefined) return;
    session.ended = reason;
    this.#log.info(
      { uid: session.uid, alias: session.alias, session: session.data.sessionId, reason },
      'Session ended.',
    );
  }

  /** Ends a live session the agent drops, and cancels it at the worker while time is left. */
  async #drop(session: ProxySession, reason: SessionEndReason): Promise<void> {
    this.#end(session, reason);
    if (session.expiresAt <= this.#o.clock.now()) return;
    try {
      await this.#o.worker.cancelSession(
        session.data,
        session.tofu,
        AbortSignal.timeout(this.#o.cancelTimeoutMs ?? 10_000),
      );
    } catch (err) {
      this.#log.warn(
        { session: session.data.sessionId, err: (err as Error).message },
        'Could not cancel the session at the worker.',
      );
    }
  }
}

function key(uid: number, alias: string): string {
  return `${uid}\u0000${alias}`;
}
