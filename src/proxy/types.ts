/** The seams of the proxy: who talks to the controller for a user and who dials the worker. */
import type { Duplex } from 'node:stream';
import type {
  Session,
  SessionAuthorization,
  SessionAuthorizationData,
  HandshakeResult,
} from '../boundary/index.js';

/** The controller's session API as one OS user, with that user's own Boundary token. */
export interface SessionAuthorizer {
  /** By alias value (`db.corp`, the alias's host binding applies) or target id (`ttcp_…`). */
  authorize(uid: number, target: string, signal: AbortSignal): Promise<SessionAuthorization>;
  read(uid: number, sessionId: string, signal: AbortSignal): Promise<Session>;
  /** `version` is the session's current one, as Boundary requires. */
  cancel(uid: number, sessionId: string, version: number, signal: AbortSignal): Promise<Session>;
}

/** One proxied TCP connection's byte stream to the worker, and what the worker said. */
export type WorkerConnection = Duplex & { readonly handshake: HandshakeResult };

/** A worker connection set up (TLS, WebSocket) with nothing sent: the session counts nothing yet. */
export interface PreparedConnection {
  /** Not used yet and the connection still open: a handshake may be sent on it. */
  readonly isOpen: boolean;
  handshake(tofuToken: string, signal: AbortSignal): Promise<WorkerConnection>;
  destroy(): void;
}

/** Opens worker connections for a session and cancels sessions (the WorkerDialer). */
export interface WorkerConnector {
  open(
    auth: SessionAuthorizationData,
    tofuToken: string,
    signal: AbortSignal,
  ): Promise<WorkerConnection>;
  /** The connection up to, not including, the handshake. */
  prepare(auth: SessionAuthorizationData, signal: AbortSignal): Promise<PreparedConnection>;
  cancelSession(
    auth: SessionAuthorizationData,
    tofuToken: string,
    signal: AbortSignal,
  ): Promise<void>;
}
