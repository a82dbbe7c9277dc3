/**
 * The JSON the control API shows for `status` and `sessions`, shaped from what the agent knows.
 * Field names and the order of warnings follow the Boundary CLI's client-agent commands
 * (Boundary's `internal/cmd/commands/clientagentcmd/status.go`, `sessions.go`).
 */
import {
  plainHttpNotice,
  sendsInClear,
  TLS_UNVERIFIED_NOTICE,
  type SessionAuthorization,
} from '../boundary/index.js';
import type { AgentRunState, AgentSessionItem, AgentStatus } from './agent-api.js';

/** The grant a Boundary user needs for its aliases to be listed (Boundary's client-agent docs). */
export const LISTING_GRANT = 'type=user;ids=*;actions=list-resolvable-aliases';

export interface StatusFacts {
  /** The caller's token, if any. */
  readonly token:
    | {
        readonly controllerAddress: string;
        readonly tokenId: string;
        readonly expiration?: number | undefined;
      }
    | undefined;
  readonly version: string;
  readonly status: AgentRunState;
  /** Why the agent paused itself (a user's pause is no warning). */
  readonly pauseWarning: string | undefined;
  /** controller_tls_insecure */
  readonly tlsUnverified: boolean;
  /** The caller's Boundary user may not list its aliases. */
  readonly listingRefused: boolean;
  /** The recent errors this caller may see, newest first. */
  readonly errors: readonly string[];
  /** The agent's and the machine's warnings, newest first. */
  readonly warnings: readonly string[];
}

export function statusView(facts: StatusFacts): AgentStatus {
  const { token } = facts;
  const notices: string[] = [];
  if (facts.tlsUnverified) notices.push(TLS_UNVERIFIED_NOTICE);
  if (token !== undefined && sendsInClear(token.controllerAddress)) {
    notices.push(plainHttpNotice(token.controllerAddress));
  }
  if (facts.listingRefused) {
    notices.push(
      `your Boundary user may not list its aliases (it lacks the grant "${LISTING_GRANT}"): every name this machine looks up is tried at the controller as an alias (a name that is none is not tried again for a minute); ask your Boundary administrator for the grant`,
    );
  }
  return {
    boundary_addr: token?.controllerAddress ?? '',
    auth_token_id: token?.tokenId ?? '',
    auth_token_expiry:
      token?.expiration === undefined ? null : new Date(token.expiration).toISOString(),
    version: facts.version,
    status: facts.status,
    errors: facts.errors,
    warnings: [
      ...(facts.pauseWarning === undefined ? [] : [facts.pauseWarning]),
      ...notices,
      ...facts.warnings,
    ],
  };
}

/** A session as the agent holds it, for `sessionItem`. */
export interface SessionFacts {
  readonly alias: string;
  readonly authorization: SessionAuthorization;
  readonly connections: number;
  readonly bytesUp: number;
  readonly bytesDown: number;
  readonly expiresAt: number;
}

/**
 * The session as `sessions` shows it to its owner: everything but the authorization token, which
 * holds the session's private key (the agent alone uses it; brokered credentials stay).
 */
export function sessionItem(s: SessionFacts): AgentSessionItem {
  return {
    alias: s.alias,
    session_authorization: Object.fromEntries(
      Object.entries(s.authorization).filter(([key]) => key !== 'authorization_token'),
    ) as AgentSessionItem['session_authorization'],
    connections: s.connections,
    bytes_up: s.bytesUp,
    bytes_down: s.bytesDown,
    expiration: new Date(s.expiresAt).toISOString(),
  };
}
