/**
 * The control API's error answers, in the controller's error JSON shape (Boundary's
 * `internal/proto/controller/api/v1/error.proto`, decoded by the CLI with `api/error.gen.go`):
 * `{kind, message, details?}` with the meaning carried by the HTTP status.
 */
import { ControllerError } from '../boundary/errors.js';
import { AgentError } from '../lib/errors.js';
import { scrubTokens } from '../lib/logger.js';

export interface ApiRequestField {
  readonly name: string;
  readonly description: string;
}

export interface ApiErrorBody {
  readonly kind: string;
  readonly message: string;
  readonly details?: { readonly request_fields: readonly ApiRequestField[] };
}

/** An answer other than 2xx that the server sends on purpose. */
export class ApiError extends Error {
  readonly status: number;
  readonly kind: string;
  readonly requestFields: readonly ApiRequestField[];

  constructor(
    status: number,
    kind: string,
    message: string,
    requestFields: readonly ApiRequestField[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.kind = kind;
    this.requestFields = requestFields;
  }

  get body(): ApiErrorBody {
    return this.requestFields.length === 0
      ? { kind: this.kind, message: this.message }
      : {
          kind: this.kind,
          message: this.message,
          details: { request_fields: this.requestFields },
        };
  }
}

export const forbidden = (message = 'Forbidden.'): ApiError =>
  new ApiError(403, 'PermissionDenied', message);

export const invalidArgument = (
  message: string,
  fields: readonly ApiRequestField[] = [],
): ApiError => new ApiError(400, 'InvalidArgument', message, fields);

export const INTERNAL = new ApiError(500, 'Internal', 'Internal error.');

/** Agent errors with a status of their own; any other agent error is a failed precondition. */
const AGENT_ERROR_STATUS: Readonly<Record<string, readonly [number, string]>> = {
  'proxy.session_not_found': [404, 'NotFound'],
  'proxy.no_token': [401, 'Unauthenticated'],
  'agent.paused': [409, 'FailedPrecondition'],
};

/**
 * What the caller is told about an error from the agent: a controller's answer keeps its status,
 * kind and message; other agent errors are a failed precondition (or their own status, above);
 * anything else is internal (and its details stay in the log). Token values are scrubbed from
 * messages.
 */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof ControllerError) {
    const message = scrubTokens(err.message);
    if (err.code === 'controller.api' && err.status >= 400 && err.status < 600) {
      return new ApiError(err.status, err.kind === '' ? 'Unknown' : err.kind, message);
    }
    if (err.code === 'controller.timeout') return new ApiError(504, 'DeadlineExceeded', message);
    return new ApiError(502, 'Unavailable', message);
  }
  if (err instanceof AgentError) {
    const [status, kind] = AGENT_ERROR_STATUS[err.code] ?? [400, 'FailedPrecondition'];
    return new ApiError(status, kind, scrubTokens(err.message));
  }
  return INTERNAL;
}
