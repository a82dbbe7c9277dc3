/** Errors from talking to Boundary: the controller's API and its session authorization tokens. */
import {
  type ApiRequestField,
  AgentError,
  type AgentErrorOptions,
  type ErrorCode,
} from '../lib/index.js';

/** A session authorization token that cannot be decoded or lacks what a session needs. */
export class AuthorizationTokenError extends AgentError {
  constructor(message: string, options: AgentErrorOptions = {}) {
    super('boundary.authorization_token', `invalid session authorization token: ${message}`, {
      hint:
        options.hint ??
        'Use the authorization_token of a fresh "boundary targets authorize-session" response, copied whole.',
      cause: options.cause,
    });
  }
}

export type ControllerErrorCode = Extract<ErrorCode, `controller.${string}`>;

/**
 * A controller request that failed: `controller.api` when the controller answered with an error
 * status (then `status` and `kind` are set), otherwise a network failure, a timeout, or an answer
 * that was not the expected JSON.
 */
export class ControllerError extends AgentError {
  declare readonly code: ControllerErrorCode;
  /** The HTTP status, 0 when there was no HTTP answer. */
  readonly status: number;
  /** The error `kind` from the body (`PermissionDenied`, `invalid list token`, ...), or ''. */
  readonly kind: string;
  readonly requestFields: readonly ApiRequestField[];

  constructor(
    code: ControllerErrorCode,
    message: string,
    details: {
      status?: number;
      kind?: string;
      requestFields?: readonly ApiRequestField[];
      hint?: string | undefined;
      cause?: unknown;
    } = {},
  ) {
    super(code, message, { hint: details.hint, cause: details.cause });
    this.status = details.status ?? 0;
    this.kind = details.kind ?? '';
    this.requestFields = details.requestFields ?? [];
  }

  /** True for failures worth retrying later: no answer, a timeout, or a 5xx. */
  get transient(): boolean {
    return this.code !== 'controller.api' || this.status >= 500;
  }
}

export const INVALID_LIST_TOKEN_KIND = 'invalid list token';
