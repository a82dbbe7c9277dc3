/** The seams of the proxy: who authorizes sessions and who dials the worker. */
import type { Duplex } from 'node:stream';
import type { AliasEntry } from '../alias-cache/snapshot.js';
import type { SessionAuthorization } from '../boundary/api-types.js';
import type { SessionAuthorizationData } from '../boundary/authz-token.js';
import type { HandshakeResult } from '../boundary/worker-protocol.js';

/** Authorizes a session for an alias with the token of one OS user. */
export interface SessionAuthorizer {
  authorize(uid: number, alias: AliasEntry, signal: AbortSignal): Promise<SessionAuthorization>;
}

/** One proxied TCP connection's byte stream to the worker, and what the worker said. */
export type WorkerConnection = Duplex & { readonly handshake: HandshakeResult };

/** Opens worker connections for a session and cancels sessions (the WorkerDialer). */
export interface WorkerConnector {
  open(
    auth: SessionAuthorizationData,
    tofuToken: string,
    signal: AbortSignal,
  ): Promise<WorkerConnection>;
  cancelSession(
    auth: SessionAuthorizationData,
    tofuToken: string,
    signal: AbortSignal,
  ): Promise<void>;
}
