/**
 * The controller's session API for an OS user: authorize, read and cancel with that user's own
 * token; and the target read that tells an alias's port without a session.
 */
import type { TokenInfo } from '../../alias-cache/index.js';
import {
  type Session,
  type SessionAuthorization,
  type Target,
  type ControllerClient,
  ControllerError,
} from '../../boundary/index.js';
import { AgentError } from '../../lib/index.js';
import type { SessionAuthorizer } from '../types.js';

export interface ControllerAuthorizerOptions {
  readonly tokenFor: (uid: number) => TokenInfo | undefined;
  readonly clientFor: (
    controllerAddress: string,
  ) => Pick<
    ControllerClient,
    'authorizeSession' | 'readSession' | 'cancelSession' | 'readTarget' | 'findTarget'
  >;
  /** Told of every call that failed for want of the controller (no answer, 5xx), and for whom. */
  readonly onControllerFailure?: (error: ControllerError, uid: number) => void;
}

export class ControllerAuthorizer implements SessionAuthorizer {
  readonly #o: ControllerAuthorizerOptions;

  constructor(options: ControllerAuthorizerOptions) {
    this.#o = options;
  }

  authorize(uid: number, target: string, signal: AbortSignal): Promise<SessionAuthorization> {
    // By alias value the controller applies the alias's host binding itself
    // (internal/alias/interceptor.go).
    return this.#as(uid, (client, token) => client.authorizeSession(token, target, { signal }));
  }

  read(uid: number, sessionId: string, signal: AbortSignal): Promise<Session> {
    return this.#as(uid, (client, token) => client.readSession(token, sessionId, signal));
  }

  /**
   * The target with `uid`'s token: no session is made, on anyone's account. Read where the user
   * may (`read`), else found in the target listing (`list`, which Boundary Desktop's users
   * have); when neither works, the read's refusal is what is reported.
   */
  readTarget(uid: number, targetId: string, signal: AbortSignal): Promise<Target> {
    return this.#as(uid, async (client, token) => {
      try {
        return await client.readTarget(token, targetId, signal);
      } catch (readError) {
        if (!(readError instanceof ControllerError) || readError.status !== 403) throw readError;
        const listed = await client.findTarget(token, targetId, signal).catch(() => undefined);
        if (listed === undefined) throw readError;
        return listed;
      }
    });
  }

  cancel(uid: number, sessionId: string, version: number, signal: AbortSignal): Promise<Session> {
    return this.#as(uid, (client, token) =>
      client.cancelSession(token, sessionId, version, signal),
    );
  }

  #as<T>(
    uid: number,
    call: (
      client: ReturnType<ControllerAuthorizerOptions['clientFor']>,
      token: string,
    ) => Promise<T>,
  ): Promise<T> {
    const token = this.#o.tokenFor(uid);
    if (token === undefined) return Promise.reject(new NoTokenError(uid));
    return call(this.#o.clientFor(token.controllerAddress), token.token).catch((err: unknown) => {
      if (err instanceof ControllerError && err.transient && err.code !== 'controller.aborted') {
        this.#o.onControllerFailure?.(err, uid);
      }
      throw err;
    });
  }
}

/** The OS user has given the agent no Boundary token. */
export class NoTokenError extends AgentError {
  constructor(uid: number) {
    super('proxy.no_token', `OS user ${uid} has no Boundary token`, {
      hint: 'Run "client-agent login" (or "client-agent add-token") as that user.',
    });
  }
}
