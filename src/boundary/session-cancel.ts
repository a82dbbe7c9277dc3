/**
 * Cancelling a session, the one way every caller does it: at the worker (SESSION_CANCEL with a
 * tofu token, `internal/proto/worker/proxy/v1/proxy.proto`), which ends the session's
 * connections at once and needs no Boundary token, else through the controller
 * (`POST /v1/sessions/{id}:cancel` with the session's current version). Boundary's own
 * `boundary connect` falls back the same way (`internal/cmd/commands/connect/connect.go`).
 */
import type { Session } from './api-types.js';

/** How a cancel went: at the worker, through the controller, or not needed (already over). */
export type CancelPath = 'worker' | 'controller' | 'already ended';

export type CancelWay = 'worker' | 'controller';

export interface CancelWays {
  /** SESSION_CANCEL at the worker; undefined when the worker cannot be asked. */
  readonly worker?: (() => Promise<void>) | undefined;
  /** The controller's cancel, or whoever holds the token for it; undefined when none can. */
  readonly controller?: (() => Promise<CancelPath>) | undefined;
  /**
   * Which is tried first; default the worker. The controller's side goes first only when it is
   * also the session's keeper, which lets go of it (the agent, for a session it authorized).
   */
  readonly first?: CancelWay;
  /** Told of each way that failed (the last failure is also what the cancel rejects with). */
  readonly onFailure?: ((way: CancelWay, error: unknown) => void) | undefined;
}

/** Tries the ways given in order until one works; rejects with the last failure. */
export async function cancelAtWorkerOrController(ways: CancelWays): Promise<CancelPath> {
  const worker = ways.worker;
  const controller = ways.controller;
  const tries: [CancelWay, () => Promise<CancelPath>][] = [];
  if (worker !== undefined) {
    tries.push([
      'worker',
      async () => {
        await worker();
        return 'worker';
      },
    ]);
  }
  if (controller !== undefined) tries.push(['controller', controller]);
  if (ways.first === 'controller') tries.reverse();
  let failure: unknown = new Error('neither the worker nor the controller can cancel the session');
  for (const [way, attempt] of tries) {
    try {
      return await attempt();
    } catch (err) {
      ways.onFailure?.(way, err);
      failure = err;
    }
  }
  throw failure;
}

/** The controller's session calls for one session, as its owner. */
export interface ControllerSessionCalls {
  read(signal: AbortSignal): Promise<Session>;
  /** `version` is the session's current one, as Boundary requires. */
  cancel(version: number, signal: AbortSignal): Promise<Session>;
}

/**
 * Cancels through the controller: reads the session for its version, and leaves one that is
 * already over alone. Resolves with the session as the controller has it afterwards.
 */
export async function cancelAtController(
  calls: ControllerSessionCalls,
  signal: AbortSignal,
): Promise<{ readonly path: 'controller' | 'already ended'; readonly session: Session }> {
  const session = await calls.read(signal);
  if (sessionIsOver(session)) return { path: 'already ended', session };
  return { path: 'controller', session: await calls.cancel(session.version ?? 0, signal) };
}

/** Canceling or terminated: nothing more to cancel. */
export function sessionIsOver(session: Session): boolean {
  return session.status === 'canceling' || session.status === 'terminated';
}
