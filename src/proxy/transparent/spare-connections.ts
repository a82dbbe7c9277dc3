/**
 * At most one spare worker connection per proxy session: TLS and the WebSocket upgrade done ahead
 * of need, nothing sent on it, so the worker counts no connection for it (Boundary's worker counts
 * a connection at its ClientHandshake, `internal/daemon/worker/handler.go`). A client that arrives takes the spare and only
 * the handshake is left to do; the session manager then prepares the next one. A spare lives at
 * most `maxAgeMs` (a long-idle TCP connection may have been dropped on the way without a word),
 * and is closed when its session ends.
 */
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../../lib/index.js';
import type { HeldSession } from './session-manager.js';
import type { PreparedConnection, WorkerConnector } from '../types.js';

/** How long a spare waits for a client: connections that follow each other get one. */
export const DEFAULT_SPARE_MAX_AGE_MS = 60_000;

interface Spare {
  readonly abort: AbortController;
  readonly prepared: Promise<PreparedConnection | undefined>;
  readonly timer: TimerHandle;
  /** Set once taken or dropped: a connection that comes up later is closed. */
  gone: boolean;
}

export interface SpareConnectionsOptions {
  readonly worker: WorkerConnector;
  readonly clock: Clock;
  readonly log: Logger;
  readonly maxAgeMs?: number;
}

export class SpareConnections {
  readonly #o: SpareConnectionsOptions;
  readonly #spares = new Map<HeldSession, Spare>();
  /** Spares prepared so far (for tests and figures). */
  prepared = 0;

  constructor(options: SpareConnectionsOptions) {
    this.#o = options;
  }

  /** Sessions holding a spare (ready or being set up). */
  get size(): number {
    return this.#spares.size;
  }

  /** Whether `session` holds a spare (ready or being set up). */
  has(session: HeldSession): boolean {
    return this.#spares.has(session);
  }

  /** Starts setting up a spare for `session` unless it has one. */
  fill(session: HeldSession): void {
    if (this.#spares.has(session)) return;
    const abort = new AbortController();
    this.prepared++;
    const timer = this.#o.clock.setTimeout(() => {
      if (this.#spares.get(session) === spare) this.drop(session);
    }, this.#o.maxAgeMs ?? DEFAULT_SPARE_MAX_AGE_MS);
    const spare: Spare = {
      abort,
      timer,
      gone: false,
      prepared: this.#o.worker.prepare(session.data, abort.signal).then(
        (connection) => {
          if (spare.gone) {
            connection.destroy();
            return undefined;
          }
          return connection;
        },
        (err: unknown) => {
          this.#o.log.debug(
            { session: session.data.sessionId, err: (err as Error).message },
            'Could not set up a spare worker connection.',
          );
          return undefined;
        },
      ),
    };
    this.#spares.set(session, spare);
  }

  /**
   * The session's spare, taken out of the pool: resolves with the connection once it is up, or
   * undefined when there was none, it failed or it is no longer open (the caller dials anew).
   */
  take(session: HeldSession): Promise<PreparedConnection | undefined> {
    const spare = this.#spares.get(session);
    if (spare === undefined) return Promise.resolve(undefined);
    this.#spares.delete(session);
    spare.timer.cancel();
    return spare.prepared.then((connection) => {
      if (connection === undefined || connection.isOpen) return connection;
      connection.destroy();
      return undefined;
    });
  }

  /** Closes the session's spare, if it has one (set up or still under way). */
  drop(session: HeldSession): void {
    const spare = this.#spares.get(session);
    if (spare === undefined) return;
    this.#spares.delete(session);
    spare.gone = true;
    spare.timer.cancel();
    spare.abort.abort();
    void spare.prepared.then((connection) => connection?.destroy());
  }
}
