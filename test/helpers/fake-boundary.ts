/**
 * The Boundary side of the proxy's seams as small in-test objects: a controller implementing the
 * SessionAuthorizer the proxy defines, and a worker implementing its WorkerConnector. Every call
 * is recorded with the OS user it was made for, so tests can say on whose account it happened.
 * The worker's connections are in-memory duplexes that echo what they are sent (the target).
 */
import { Duplex } from 'node:stream';
import {
  type Session,
  type SessionAuthorization,
  encodeAuthorizationToken,
  type SessionAuthorizationData,
  type HandshakeResult,
} from '../../src/boundary/index.js';
import type { Clock } from '../../src/lib/index.js';
import type {
  PreparedConnection,
  SessionAuthorizer,
  WorkerConnection,
  WorkerConnector,
} from '../../src/proxy/index.js';

interface HeldRecord {
  readonly uid: number;
  session: Session;
}

/** Authorizes sessions for whoever asks with a token; reads and cancels them for their owner. */
export class FakeController implements SessionAuthorizer {
  /** `authorize:uid:target`, `read:uid:id`, `cancel:uid:id:version`, in order. */
  readonly calls: string[] = [];
  readonly records = new Map<string, HeldRecord>();
  /** How long a new session lives. */
  lifetimeMs = 8 * 3_600_000;
  /** -1: unlimited. */
  connectionLimit = -1;
  endpointPort = 22;
  /** The next authorize calls fail with these, one each. */
  readonly failures: Error[] = [];
  /** While set, authorize waits for it before answering. */
  gate: Promise<void> | undefined;
  #next = 0;

  constructor(private readonly clock: Clock) {}

  async authorize(uid: number, target: string, signal: AbortSignal): Promise<SessionAuthorization> {
    this.calls.push(`authorize:${uid}:${target}`);
    if (this.gate !== undefined) await this.gate;
    signal.throwIfAborted();
    const failure = this.failures.shift();
    if (failure !== undefined) throw failure;
    const id = `s_${String(++this.#next).padStart(10, '0')}`;
    const data: SessionAuthorizationData = {
      sessionId: id,
      targetId: 'ttcp_1234567890',
      scope: undefined,
      createdTime: new Date(this.clock.now()),
      type: 'tcp',
      connectionLimit: this.connectionLimit,
      endpointPort: this.endpointPort,
      expiration: new Date(this.clock.now() + this.lifetimeMs),
      // Never checked on this side of the seam: the worker checks them.
      certificate: new Uint8Array([1]),
      privateKey: new Uint8Array(64),
      hostId: '',
      endpoint: '',
      workerInfo: [{ address: '127.0.0.1:9202' }],
      defaultClientPort: 0,
    };
    this.records.set(id, { uid, session: { id, version: 1, status: 'pending' } });
    return { session_id: id, authorization_token: encodeAuthorizationToken(data) };
  }

  read(uid: number, sessionId: string): Promise<Session> {
    this.calls.push(`read:${uid}:${sessionId}`);
    const held = this.records.get(sessionId);
    if (held?.uid !== uid) return Promise.reject(new Error('not found'));
    return Promise.resolve(held.session);
  }

  cancel(uid: number, sessionId: string, version: number): Promise<Session> {
    this.calls.push(`cancel:${uid}:${sessionId}:${version}`);
    const held = this.records.get(sessionId);
    if (held?.uid !== uid) return Promise.reject(new Error('not found'));
    held.session = { ...held.session, version: version + 1, status: 'canceling' };
    return Promise.resolve(held.session);
  }

  /** The uids sessions were authorized for, in order. */
  authorizedFor(): number[] {
    return this.calls.filter((c) => c.startsWith('authorize:')).map((c) => Number(c.split(':')[1]));
  }
}

/** An echoing in-memory worker connection with the handshake answer the test chose. */
export function echoConnection(handshake: HandshakeResult): WorkerConnection {
  const stream = new Duplex({
    read() {
      // pushed by write
    },
    write(chunk: Buffer, _encoding, callback) {
      stream.push(chunk);
      callback();
    },
    final(callback) {
      stream.push(null);
      callback();
    },
  });
  return Object.assign(stream, { handshake });
}

/**
 * A worker: open() and prepare().handshake() give echoing connections, or fail as the test set;
 * cancelSession() is recorded and, when `cancelHangs`, waits for its signal.
 */
export class FakeWorker implements WorkerConnector {
  readonly opened: { sessionId: string; tofu: string }[] = [];
  readonly prepared: { sessionId: string; signal: AbortSignal }[] = [];
  readonly canceled: string[] = [];
  /** Connections left that each handshake reports. */
  connectionsLeft = -1;
  /** The next open/handshake calls fail with these, one each. */
  readonly failures: Error[] = [];
  /** While set, open waits for it (or for the signal) before answering. */
  gate: Promise<void> | undefined;
  /** prepare() never comes up (until aborted). */
  prepareHangs = false;
  cancelHangs = false;
  readonly connections: WorkerConnection[] = [];

  async open(
    auth: SessionAuthorizationData,
    tofuToken: string,
    signal: AbortSignal,
  ): Promise<WorkerConnection> {
    this.opened.push({ sessionId: auth.sessionId, tofu: tofuToken });
    if (this.gate !== undefined) await Promise.race([this.gate, aborted(signal)]);
    return this.#handshake(signal);
  }

  prepare(auth: SessionAuthorizationData, signal: AbortSignal): Promise<PreparedConnection> {
    this.prepared.push({ sessionId: auth.sessionId, signal });
    if (this.prepareHangs) return aborted(signal);
    let open = true;
    return Promise.resolve({
      get isOpen() {
        return open;
      },
      handshake: (_tofu: string, s: AbortSignal) => {
        open = false;
        this.opened.push({ sessionId: auth.sessionId, tofu: _tofu });
        return this.#handshake(s);
      },
      destroy: () => {
        open = false;
      },
    });
  }

  async cancelSession(
    auth: SessionAuthorizationData,
    _tofu: string,
    signal: AbortSignal,
  ): Promise<void> {
    this.canceled.push(auth.sessionId);
    if (this.cancelHangs) await aborted(signal);
  }

  #handshake(signal: AbortSignal): Promise<WorkerConnection> {
    signal.throwIfAborted();
    const failure = this.failures.shift();
    if (failure !== undefined) return Promise.reject(failure);
    const connection = echoConnection({
      expiration: undefined,
      connectionLimit: -1,
      connectionsLeft: this.connectionsLeft,
    });
    this.connections.push(connection);
    return Promise.resolve(connection);
  }
}

/** Rejects with the signal's reason once it aborts. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    const fail = () => {
      reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    };
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}
