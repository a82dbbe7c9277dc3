/**
 * What the control API needs from the running agent. The daemon implements it; the control
 * server only identifies the caller (OS uid), checks permissions and shapes the JSON.
 * Field names follow the Boundary CLI's client-agent routes (protocol notes §7).
 */
import type { SessionAuthorization } from '../boundary/api-types.js';

export type AgentRunState = 'running' | 'paused';

/** `GET /v1/status` for one caller: their token's fields, the agent's state and recent problems. */
export interface AgentStatus {
  /** The controller address of the caller's token ('' when the caller has none). */
  readonly boundary_addr: string;
  readonly auth_token_id: string;
  /** RFC 3339, '' when unknown. */
  readonly auth_token_expiry: string;
  readonly version: string;
  readonly status: AgentRunState;
  /** Newest first. */
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
}

/** Our additions to status (`GET /v1/status/details`). */
export interface AgentDetails {
  readonly status: AgentRunState;
  /** Why the agent is paused: `user` or a sentence about the self-pause. */
  readonly paused_reason?: string;
  readonly alias_count: number;
  readonly last_refresh?: { readonly time: string; readonly kind: 'full' | 'delta' };
  readonly dns_addresses: readonly string[];
  readonly upstreams: readonly string[];
  readonly listeners: readonly {
    readonly address: string;
    readonly port: number;
    readonly alias: string;
  }[];
  readonly users_with_tokens: number;
}

/** One of the caller's sessions (`GET /v1/sessions` item). */
export interface AgentSessionItem {
  readonly alias: string;
  /** As the controller returned it, credentials included (only ever shown to its owner). */
  readonly session_authorization: Pick<
    SessionAuthorization,
    'session_id' | 'created_time' | 'credentials'
  > &
    Partial<SessionAuthorization>;
  /** Ours: what the agent knows of its use. */
  readonly connections?: number;
  readonly bytes_up?: number;
  readonly bytes_down?: number;
  readonly expiration?: string;
}

export interface AgentControl {
  status(uid: number): AgentStatus;
  details(uid: number): AgentDetails;
  /** Whether `uid` holds a token (pause/resume need one, or root). */
  hasToken(uid: number): boolean;
  pause(uid: number): Promise<void>;
  resume(uid: number): Promise<void>;
  sessions(uid: number): readonly AgentSessionItem[];
  /**
   * Stores a token for `uid` after the controller confirmed it. Rejects with an AgentError
   * (ControllerError for the controller's answer) when it cannot, and with a PlainHttpError for
   * an `http://` address that is not loopback unless `allowPlainHttp`.
   */
  addToken(
    uid: number,
    boundaryAddr: string,
    token: string,
    options?: { allowPlainHttp?: boolean },
  ): Promise<void>;
}
