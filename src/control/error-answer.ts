/**
 * What the control API answers for an error from the agent, in the controller's error JSON
 * (src/lib/api-error.ts).
 */
import { ControllerError } from '../boundary/index.js';
import {
  ApiError,
  internalError,
  type ApiErrorKind,
  AgentError,
  scrubTokens,
} from '../lib/index.js';

/** Agent errors with a status of their own; any other agent error is a failed precondition. */
const AGENT_ERROR_STATUS: Readonly<Record<string, readonly [number, ApiErrorKind]>> = {
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
      return ApiError.relay(err.status, err.kind === '' ? 'Unknown' : err.kind, message);
    }
    if (err.code === 'controller.timeout') return new ApiError(504, 'DeadlineExceeded', message);
    return new ApiError(502, 'Unavailable', message);
  }
  if (err instanceof AgentError) {
    const [status, kind] = AGENT_ERROR_STATUS[err.code] ?? [400, 'FailedPrecondition'];
    return new ApiError(status, kind, scrubTokens(err.message));
  }
  return internalError();
}
