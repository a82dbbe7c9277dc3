/**
 * What the control API needs from the running agent. The daemon implements it; the control
 * server only identifies the caller (OS uid), checks permissions and shapes the JSON.
 * Field names follow the Boundary CLI's client-agent commands
 * (Boundary's `internal/cmd/commands/clientagentcmd/`).
 */
import type { Session, SessionAuthorization } from '../boundary/index.js';

export type AgentRunState = 'running' | 'paused';

/** `GET /v1/status` for one caller: their token's fields, the agent's state and recent problems. */
export interface AgentStatus {
  /** The controller address of the caller's token ('' when the caller has none). */
  readonly boundary_addr: string;
  readonly auth_token_id: string;
  /**
   * RFC 3339, or null when the caller has no token or its expiry is unknown. Never '': the
   * Boundary CLI decodes this field into a Go `*time.Time`
   * (internal/cmd/commands/clientagentcmd/status.go `GetStatusResponse`), which takes an RFC 3339
   * string or null but fails on "", and Boundary Desktop runs that command with -format=json.
   */
  readonly auth_token_expiry: string | null;
  readonly version: string;
  readonly status: AgentRunState;
  /** Newest first, one per cause, for this caller (see AgentControl.status). */
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
  /** `system` (the root daemon) or `dev` (the unprivileged demo). */
  readonly profile: 'system' | 'dev';
  readonly pid: number;
  /** The interface the agent's addresses are on (system profile). */
  readonly interface?: string;
  /** The DNS server's port (53 for the daemon). */
  readonly dns_port: number;
  readonly v4_prefix: string;
  /** Absent when IPv6 is off. */
  readonly v6_prefix?: string;
}

export type StepStatus = 'pass' | 'warn' | 'fail' | 'skip';

/** Extra facts of a step, for machines (`--json`): flat values only. */
export type StepDetails = Readonly<Record<string, string | number | boolean | readonly string[]>>;

/**
 * One step of a `client-agent diag` report: passed, failed, passed with a warning, or skipped
 * because a step it needs did not pass. The daemon sends the alias checklist's steps in this
 * shape, and the CLI prints and writes (`--json`) every report in it.
 */
export interface DiagStep {
  /** Stable: `agent`, `token`, `resolver`, … */
  readonly id: string;
  /** What is checked, as a short phrase. */
  readonly title: string;
  readonly status: StepStatus;
  /** What was seen (for a skipped step: which step it needed). */
  readonly seen: string;
  /** How to fix it; absent when the step passed. */
  readonly fix?: string;
  readonly details?: StepDetails;
}

/**
 * `POST /v1/diag/alias`: the daemon's part of `client-agent diag ALIAS`, for the caller only.
 * Steps in order: agent, token, controller, alias, authorize, worker, target, session (the CLI
 * adds the OS resolver step, which runs in the caller's process).
 */
export interface AliasDiagnosis {
  readonly alias: string;
  readonly steps: readonly DiagStep[];
  /** The alias's proxy addresses, which its DNS answers carry (when the alias is known). */
  readonly proxy_addresses?: { readonly v4: string; readonly v6?: string };
  /** The DNS server (`100.64.0.1:53`), to ask it directly. */
  readonly dns_addresses: readonly string[];
  readonly profile: 'system' | 'dev';
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

/**
 * `GET /v1/sessions/{id}` and `POST /v1/sessions/{id}:cancel`: the controller's Session, plus
 * ours: the alias (or target id) it was authorized for and, after a cancel, how it went.
 */
export type AgentSessionRecord = Session & {
  readonly alias: string;
  /** Where the cancel took effect; `already ended` when the session had ended before it. */
  readonly canceled?: 'worker' | 'controller' | 'already ended';
};

export interface AgentControl {
  /**
   * `privileged` (root, the agent's own user) sees every recent error with its detail; others
   * see the agent's own problems and the errors about their aliases and token, never the names
   * other users looked up.
   */
  status(uid: number, privileged: boolean): AgentStatus;
  details(uid: number): AgentDetails;
  /** Whether `uid` holds a token (pause/resume need one, or root). */
  hasToken(uid: number): boolean;
  pause(uid: number): Promise<void>;
  resume(uid: number): Promise<void>;
  sessions(uid: number): readonly AgentSessionItem[];
  /**
   * A new session for the caller, by alias value or target id, with the caller's token
   * (`client-agent connect`); the caller relays it. Rejects with a ControllerError as the
   * controller answered, or an AgentError (no token, paused).
   */
  authorizeSession(uid: number, target: string): Promise<SessionAuthorization>;
  /** One of the caller's agent-managed sessions (else a 404), as the controller has it now. */
  readSession(uid: number, sessionId: string): Promise<AgentSessionRecord>;
  /** Cancels one of the caller's agent-managed sessions: at the worker, else the controller. */
  cancelSession(uid: number, sessionId: string): Promise<AgentSessionRecord>;
  /**
   * Stores a token for `uid` after the controller confirmed it. Rejects with an AgentError
   * (ControllerError for the controller's answer) when it cannot, and with a PlainHttpError for
   * an `http://` address that is not loopback unless `allowPlainHttp`. The address is
   * normalised as Boundary's client does (api/client.go `setAddr`); the same token again is a
   * no-op, a new token of the same Boundary user is swapped in place (sessions kept). Resolves
   * before the alias listing unless `waitForAliases`.
   */
  addToken(
    uid: number,
    boundaryAddr: string,
    token: string,
    options?: { allowPlainHttp?: boolean; waitForAliases?: boolean },
  ): Promise<void>;
  /** Walks the session checklist for `alias` as `uid` (with uid's own token only). */
  diagnoseAlias(uid: number, alias: string): Promise<AliasDiagnosis>;
}
