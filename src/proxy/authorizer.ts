/** Authorizes sessions with the OS user's own Boundary token, by alias value. */
import type { AliasEntry } from '../alias-cache/snapshot.js';
import type { TokenInfo } from '../alias-cache/alias-cache.js';
import type { SessionAuthorization } from '../boundary/api-types.js';
import type { ControllerClient } from '../boundary/controller-client.js';
import { ControllerError } from '../boundary/errors.js';
import { AgentError } from '../lib/errors.js';
import type { SessionAuthorizer } from './types.js';

export interface ControllerAuthorizerOptions {
  readonly tokenFor: (uid: number) => TokenInfo | undefined;
  readonly clientFor: (controllerAddress: string) => Pick<ControllerClient, 'authorizeSession'>;
  /** Told of every authorization that failed for want of the controller (no answer, 5xx). */
  readonly onControllerFailure?: (error: ControllerError) => void;
}

export class ControllerAuthorizer implements SessionAuthorizer {
  readonly #o: ControllerAuthorizerOptions;

  constructor(options: ControllerAuthorizerOptions) {
    this.#o = options;
  }

  authorize(uid: number, alias: AliasEntry, signal: AbortSignal): Promise<SessionAuthorization> {
    const token = this.#o.tokenFor(uid);
    if (token === undefined) {
      return Promise.reject(
        new AgentError('proxy.no_token', `OS user ${uid} has no Boundary token`, {
          hint: 'Run "client-agent login" as that user.',
        }),
      );
    }
    // By alias value: the controller applies the alias's host binding itself.
    return this.#o
      .clientFor(token.controllerAddress)
      .authorizeSession(token.token, alias.value, { signal })
      .catch((err: unknown) => {
        if (err instanceof ControllerError && err.transient && err.code !== 'controller.aborted') {
          this.#o.onControllerFailure?.(err);
        }
        throw err;
      });
  }
}
