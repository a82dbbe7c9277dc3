/**
 * What happens to a TCP connection to a proxy address: find the local OS user behind it, check
 * that user may use the alias, get that user's session, open a worker connection, relay. Anyone
 * else (another host, a user without a token for the alias) is reset before a byte is relayed.
 */
import type net from 'node:net';
import type { Logger } from 'pino';
import type { AliasEntry } from '../../alias-cache/index.js';
import { endsSession } from '../../boundary/index.js';
import { type Clock, type TimerHandle, timeoutSignal } from '../../lib/index.js';
import type { PeerCredentials } from '../../platform/index.js';
import { relay } from '../relay.js';
import type { HeldSession, SessionManager } from './session-manager.js';
import type { PreparedConnection, WorkerConnection, WorkerConnector } from '../types.js';

export interface ConnectionHandlerOptions {
  readonly sessions: SessionManager;
  readonly worker: WorkerConnector;
  readonly peers: Pick<PeerCredentials, 'uidOf'>;
  /**
   * Whether an address is this machine's: a connection from anywhere else is reset before its
   * owner is even looked up. Default: the peer lookup alone decides.
   */
  readonly isLocalPeer?: ((address: string) => boolean) | undefined;
  /** The alias entry when `uid` may use it (holds a token whose aliases include it). */
  readonly entitled: (uid: number, alias: string) => AliasEntry | undefined;
  /**
   * The alias entry, whoever asks. With it, when exactly one OS user may use the alias and that
   * user's session is warm, the worker connection's TLS and WebSocket are set up while the caller
   * is still being identified; the handshake (which uses up a connection of the session) and any
   * byte wait for the uid check, and a caller who fails it gets the prepared connection dropped.
   */
  readonly aliasEntry?: ((alias: string) => AliasEntry | undefined) | undefined;
  readonly clock: Clock;
  readonly log: Logger;
  /** Bound on authorizing and dialing before the relay starts; default 30 s. */
  readonly setupTimeoutMs?: number;
  /** A relayed connection with no byte either way for this long is closed; default 1 h. */
  readonly idleTimeoutMs?: number;
  /** Told about failures worth showing in `status`, with the OS user they happened to. */
  readonly onError?: (message: string, uid: number) => void;
}

/** A worker connection started before the caller's uid was known, for the alias's only user. */
interface EarlyStart {
  readonly uid: number;
  readonly log: Logger;
  readonly session: HeldSession;
  readonly prepared: Promise<PreparedConnection>;
}

/** A spare is set up this long after a connection's first reply... */
export const REFILL_AFTER_REPLY_MS = 5;
/** ...or at the latest this long after it started relaying. */
export const REFILL_DELAY_MS = 50;

/** Idle policy: nothing either way for an hour ends a proxied connection (its session stays). */
export const DEFAULT_IDLE_TIMEOUT_MS = 60 * 60_000;

export class ConnectionHandler {
  readonly #o: ConnectionHandlerOptions;
  readonly #log: Logger;

  constructor(options: ConnectionHandlerOptions) {
    this.#o = options;
    this.#log = options.log.child({ component: 'proxy' });
  }

  /** Handles one accepted connection to `alias`'s proxy address, start to end. */
  async handle(socket: net.Socket, alias: string): Promise<void> {
    socket.on('error', () => undefined);
    const peer = { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    const local = { address: socket.localAddress ?? '', port: socket.localPort ?? 0 };
    const fromHere = this.#o.isLocalPeer?.(peer.address) !== false;
    const abort = new AbortController();
    const onClose = () => {
      abort.abort();
    };
    socket.once('close', onClose);
    const setup = timeoutSignal(this.#o.clock, this.#o.setupTimeoutMs ?? 30_000);
    const signal = AbortSignal.any([abort.signal, setup.signal]);
    const early = fromHere ? this.#startEarly(alias, signal) : undefined;
    // The bound is released once setup is over, but not before an early start has settled: a
    // dropped one still coming up is ended by it.
    const setupDone = (): void => {
      if (early === undefined) setup.cancel();
      else void early.prepared.then(setup.cancel, setup.cancel);
    };
    try {
      await this.#serve(socket, alias, {
        peer,
        local,
        fromHere,
        signal,
        onClose,
        early,
        setupDone,
      });
    } finally {
      setupDone();
    }
  }

  async #serve(
    socket: net.Socket,
    alias: string,
    c: {
      readonly peer: { readonly address: string; readonly port: number };
      readonly local: { readonly address: string; readonly port: number };
      readonly fromHere: boolean;
      readonly signal: AbortSignal;
      readonly onClose: () => void;
      readonly early: EarlyStart | undefined;
      /** The setup bound is over: the relay has its own idle bound. */
      readonly setupDone: () => void;
    },
  ): Promise<void> {
    const { peer, local, fromHere, signal, onClose, early } = c;
    const uid = fromHere
      ? await this.#o.peers.uidOf(peer, local).catch(() => undefined)
      : undefined;
    // A refused connection closes, which aborts an early start still under way.
    if (uid === undefined) {
      drop(early);
      this.#refuse(
        socket,
        { alias, peer: `${peer.address}:${peer.port}` },
        'Refused a connection that does not come from this machine.',
      );
      return;
    }
    const entry = this.#o.entitled(uid, alias);
    if (entry === undefined) {
      drop(early);
      this.#refuse(
        socket,
        { alias, uid },
        'Refused a connection from an OS user without a Boundary token for this alias.',
      );
      return;
    }
    // The caller may use the alias: its first bytes are read (up to the socket's buffer, not
    // relayed) while the worker connection opens, instead of after.
    socket.read(0);
    const mine = early?.uid === uid ? early : undefined;
    if (mine === undefined) drop(early);
    let session: HeldSession | undefined;
    let stream: WorkerConnection;
    try {
      session = await this.#o.sessions.acquire(uid, entry, signal);
      stream = await this.#open(session, mine, signal);
    } catch (err) {
      drop(mine);
      socket.off('close', onClose);
      if (session !== undefined && endsSession(err)) {
        this.#o.sessions.invalidate(session, 'worker');
      }
      const message = `cannot connect ${alias} for uid ${uid}: ${(err as Error).message}`;
      this.#o.onError?.(message, uid);
      this.#refuse(
        socket,
        { alias, uid, err: (err as Error).message },
        'Could not set up the connection through Boundary.',
      );
      return;
    }
    socket.off('close', onClose);
    c.setupDone();
    if (socket.destroyed) {
      stream.destroy();
      return;
    }
    this.#o.sessions.noteConnection(session, stream.handshake.connectionsLeft);
    this.#log.debug({ alias, uid, session: session.data.sessionId }, 'Relaying a connection.');
    const relayed = relay(socket, stream, {
      clock: this.#o.clock,
      idleMs: this.#o.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    });
    // After relay() has its listeners on the stream: the reply reaches the client first.
    const refill = this.#refillLater(session, stream);
    const result = await relayed;
    refill();
    session.bytesUp += result.bytesUp;
    session.bytesDown += result.bytesDown;
    if (result.idle) {
      this.#log.info(
        { alias, uid, session: session.data.sessionId },
        'Closed a proxied connection idle for too long.',
      );
    }
    if (result.error !== undefined) {
      if (endsSession(result.error)) this.#o.sessions.invalidate(session, 'worker');
      this.#log.info(
        { alias, uid, err: result.error.message },
        'A proxied connection ended with an error.',
      );
    }
  }

  /**
   * The session's next spare worker connection gets set up shortly after this connection's
   * first reply came back (or when it ended, or after REFILL_DELAY_MS): setting it up costs both
   * processes a TLS handshake and WebSocket upgrade (CPU-heavy for both), which would
   * otherwise land on this connection's first exchange. Returns the trigger
   * for the connection's end.
   */
  #refillLater(session: HeldSession, stream: WorkerConnection): () => void {
    let done = false;
    const refill = () => {
      if (done) return;
      done = true;
      timer.cancel();
      afterReply?.cancel();
      this.#o.sessions.refillSpare(session);
    };
    const timer = this.#o.clock.setTimeout(refill, REFILL_DELAY_MS);
    let afterReply: TimerHandle | undefined;
    const onData = () => {
      afterReply = this.#o.clock.setTimeout(refill, REFILL_AFTER_REPLY_MS);
    };
    stream.once('data', onData);
    return () => {
      stream.off('data', onData);
      refill();
    };
  }

  /**
   * For an alias with exactly one OS user whose session is warm: that session's worker
   * connection up to the handshake, started now. Only a caller found to be that user gets it.
   */
  #startEarly(alias: string, signal: AbortSignal): EarlyStart | undefined {
    const entry = this.#o.aliasEntry?.(alias);
    const [uid, ...others] = entry?.uids ?? [];
    if (entry === undefined || uid === undefined || others.length > 0) return undefined;
    const session = this.#o.sessions.current(uid, entry.value);
    // With a spare set up ahead there is nothing to start: the caller gets it once identified.
    if (session === undefined || this.#o.sessions.hasSpare(session)) return undefined;
    const prepared = this.#o.worker.prepare(session.data, signal);
    // Dropped or failed early starts are not errors: the normal path decides.
    prepared.catch((err: unknown) => {
      this.#log.debug(
        { err: (err as Error).message },
        'Abandoned a worker connection started early, before it came up.',
      );
    });
    return { uid, session, prepared, log: this.#log };
  }

  /**
   * The session's worker connection: the early one when it is for this session and came up, else
   * the session's spare (set up ahead) when it has one, else a new one. Called only once the
   * caller is known to be the session's owner.
   */
  async #open(
    session: HeldSession,
    early: EarlyStart | undefined,
    signal: AbortSignal,
  ): Promise<WorkerConnection> {
    if (early?.session !== session) {
      drop(early);
    } else {
      const prepared = await early.prepared.catch(() => undefined);
      if (prepared !== undefined) {
        this.#log.debug('Using the worker connection set up while identifying the caller.');
        return prepared.handshake(session.tofu, signal);
      }
    }
    const spare = await this.#o.sessions.takeSpare(session);
    if (spare !== undefined) {
      this.#log.debug('Using the session’s spare worker connection.');
      return spare.handshake(session.tofu, signal);
    }
    return this.#o.worker.open(session.data, session.tofu, signal);
  }

  #refuse(socket: net.Socket, fields: Record<string, unknown>, message: string): void {
    this.#log.warn(fields, message);
    socket.resetAndDestroy();
  }
}

/** Drops an early worker connection unused (nothing was sent on it). */
function drop(early: EarlyStart | undefined): void {
  void early?.prepared.then(
    (prepared) => {
      prepared.destroy();
      early.log.debug('Dropped a worker connection set up early, unused.');
    },
    () => undefined,
  );
}
