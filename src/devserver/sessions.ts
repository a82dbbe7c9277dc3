/**
 * The stand-in's session table, shared by its controller (authorize, read, cancel) and its
 * worker (tofu activation, connection authorization, byte counts). States and termination
 * reasons follow Boundary: pending → active → canceling → terminated; `timed out`, `canceled`,
 * `connection limit`.
 */
import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../lib/index.js';
import { newId } from './ids.js';

export type SessionStatus = 'pending' | 'active' | 'canceling' | 'terminated';
export type TerminationReason = 'timed out' | 'canceled' | 'connection limit';

export interface SessionState {
  readonly status: SessionStatus;
  readonly startTime: number;
  endTime?: number;
}

export interface ConnectionRecord {
  readonly id: string;
  readonly clientTcpAddress: string;
  readonly clientTcpPort: number;
  readonly endpointTcpAddress: string;
  readonly endpointTcpPort: number;
  bytesUp: number;
  bytesDown: number;
  closedReason: string | undefined;
  open: boolean;
}

export interface SessionRecord {
  readonly id: string;
  readonly targetId: string;
  readonly scopeId: string;
  readonly userId: string;
  readonly authTokenId: string;
  readonly hostId: string;
  readonly hostSetId: string | undefined;
  readonly type: string;
  /** `tcp://host:port`. */
  readonly endpoint: string;
  readonly endpointHost: string;
  readonly endpointPort: number;
  readonly createdTime: number;
  updatedTime: number;
  version: number;
  readonly expirationTime: number;
  /** -1: unlimited. */
  readonly connectionLimit: number;
  status: SessionStatus;
  /** Newest first. */
  readonly states: SessionState[];
  terminationReason: TerminationReason | undefined;
  tofuToken: string | undefined;
  readonly certificate: Uint8Array;
  readonly privateKey: Uint8Array;
  readonly connections: ConnectionRecord[];
}

export type NewSession = Omit<
  SessionRecord,
  | 'id'
  | 'createdTime'
  | 'updatedTime'
  | 'version'
  | 'status'
  | 'states'
  | 'terminationReason'
  | 'tofuToken'
  | 'connections'
> & { readonly id?: string };

export type ActivateResult = 'activated' | 'matched' | 'unknown' | 'tofu_mismatch' | 'not_pending';

export type ConnectionResult =
  | { readonly ok: true; readonly connection: ConnectionRecord; readonly connectionsLeft: number }
  | { readonly ok: false; readonly reason: 'unknown' | 'not_active' | 'limit' };

interface SessionEvents {
  /** The session is canceling or terminated: its connections must end. */
  ending: [session: SessionRecord];
}

export class SessionStore extends EventEmitter<SessionEvents> {
  readonly #clock: Clock;
  readonly #sessions = new Map<string, SessionRecord>();
  readonly #expiryTimers = new Map<string, TimerHandle>();

  constructor(clock: Clock) {
    super();
    this.#clock = clock;
  }

  create(init: NewSession): SessionRecord {
    const now = this.#clock.now();
    const session: SessionRecord = {
      ...init,
      id: init.id ?? newId('s'),
      createdTime: now,
      updatedTime: now,
      version: 1,
      status: 'pending',
      states: [{ status: 'pending', startTime: now }],
      terminationReason: undefined,
      tofuToken: undefined,
      connections: [],
    };
    this.#sessions.set(session.id, session);
    this.#expiryTimers.set(
      session.id,
      this.#clock.setTimeout(() => {
        this.#terminate(session, 'timed out');
      }, session.expirationTime - now),
    );
    return session;
  }

  get(id: string): SessionRecord | undefined {
    return this.#sessions.get(id);
  }

  all(): SessionRecord[] {
    return [...this.#sessions.values()];
  }

  /**
   * The worker's handshake rule: the first tofu token activates a pending session; later ones
   * must match it.
   */
  activate(id: string, tofuToken: string): ActivateResult {
    const session = this.#sessions.get(id);
    if (session === undefined) return 'unknown';
    if (session.tofuToken !== undefined) {
      return session.tofuToken === tofuToken && session.status === 'active'
        ? 'matched'
        : 'tofu_mismatch';
    }
    if (session.status !== 'pending') return 'not_pending';
    session.tofuToken = tofuToken;
    this.#transition(session, 'active');
    return 'activated';
  }

  /** Counts a new connection against the session's limit. */
  authorizeConnection(id: string, client: { address: string; port: number }): ConnectionResult {
    const session = this.#sessions.get(id);
    if (session === undefined) return { ok: false, reason: 'unknown' };
    if (session.status !== 'active') return { ok: false, reason: 'not_active' };
    const used = session.connections.length;
    if (session.connectionLimit >= 0 && used >= session.connectionLimit) {
      return { ok: false, reason: 'limit' };
    }
    const connection: ConnectionRecord = {
      id: newId('sc'),
      clientTcpAddress: client.address,
      clientTcpPort: client.port,
      endpointTcpAddress: session.endpointHost,
      endpointTcpPort: session.endpointPort,
      bytesUp: 0,
      bytesDown: 0,
      closedReason: undefined,
      open: true,
    };
    session.connections.push(connection);
    this.#touch(session);
    const connectionsLeft =
      session.connectionLimit < 0 ? -1 : session.connectionLimit - session.connections.length;
    return { ok: true, connection, connectionsLeft };
  }

  closeConnection(sessionId: string, connection: ConnectionRecord, reason: string): void {
    const session = this.#sessions.get(sessionId);
    if (session === undefined || !connection.open) return;
    connection.open = false;
    connection.closedReason = reason;
    this.#touch(session);
    const openCount = session.connections.filter((c) => c.open).length;
    if (session.status === 'canceling' && openCount === 0) {
      this.#transition(session, 'terminated');
    } else if (
      session.status === 'active' &&
      openCount === 0 &&
      session.connectionLimit >= 0 &&
      session.connections.length >= session.connectionLimit
    ) {
      this.#terminate(session, 'connection limit');
    }
  }

  /** Cancels a session; it is terminated once its connections are closed. */
  cancel(id: string): SessionRecord | undefined {
    const session = this.#sessions.get(id);
    if (session === undefined) return undefined;
    if (session.status === 'terminated' || session.status === 'canceling') return session;
    session.terminationReason = 'canceled';
    this.#transition(session, 'canceling');
    this.emit('ending', session);
    if (!session.connections.some((c) => c.open)) this.#transition(session, 'terminated');
    return session;
  }

  /** Stops every expiry timer; the store must not be used afterwards. */
  close(): void {
    for (const timer of this.#expiryTimers.values()) timer.cancel();
    this.#expiryTimers.clear();
  }

  #terminate(session: SessionRecord, reason: TerminationReason): void {
    if (session.status === 'terminated') return;
    session.terminationReason ??= reason;
    this.#transition(session, 'terminated');
    this.emit('ending', session);
  }

  #transition(session: SessionRecord, status: SessionStatus): void {
    const now = this.#clock.now();
    const current = session.states[0];
    if (current !== undefined) current.endTime = now;
    session.states.unshift({ status, startTime: now });
    session.status = status;
    this.#touch(session);
    if (status === 'terminated') {
      this.#expiryTimers.get(session.id)?.cancel();
      this.#expiryTimers.delete(session.id);
      for (const c of session.connections) {
        if (c.open) {
          c.open = false;
          c.closedReason = session.terminationReason === 'timed out' ? 'timed out' : 'canceled';
        }
      }
    }
  }

  #touch(session: SessionRecord): void {
    session.updatedTime = this.#clock.now();
    session.version++;
  }
}
