/** Errors from talking to Boundary: the controller's API and its session authorization tokens. */
import { AgentError, type AgentErrorOptions } from '../lib/errors.js';

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
