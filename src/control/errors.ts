/** Errors a control API client meets: the agent is not there, or it refused the request. */
import { AgentError, type AgentErrorOptions, type ErrorCode } from '../lib/index.js';

export type ControlErrorCode = Extract<ErrorCode, `control.${string}`>;

export class ControlError extends AgentError {
  declare readonly code: ControlErrorCode;
  /** The HTTP status of the agent's answer, 0 when there was none. */
  readonly status: number;
  /** The error `kind` of the agent's answer (`PermissionDenied`, …), or ''. */
  readonly kind: string;

  constructor(
    code: ControlErrorCode,
    message: string,
    details: AgentErrorOptions & { status?: number; kind?: string } = {},
  ) {
    super(code, message, details);
    this.status = details.status ?? 0;
    this.kind = details.kind ?? '';
  }
}

export const START_HINT =
  'Start it with "sudo client-agent daemon" (or "client-agent dev" / "npm start" for the demo), ' +
  'or give the port it uses with -client-agent-port or BOUNDARY_CLIENT_AGENT_LISTENING_PORT.';

export function notRunning(port: number, cause: unknown): ControlError {
  return new ControlError(
    'control.not_running',
    `the client agent is not running on port ${port} (nothing listens on 127.0.0.1:${port})`,
    { hint: START_HINT, cause },
  );
}
