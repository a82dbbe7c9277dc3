/**
 * The desktop notice for a session with brokered credentials, as Boundary's client agent shows
 * one: the client connected through the proxy never sees the credentials, so the user is told
 * where to read them. The notice names the alias and the command, never a credential: it can
 * show on a locked screen and stays in the notification history.
 */
import type { Logger } from 'pino';
import { isValidAliasValue } from '../../alias-cache/index.js';
import { type Clock, timeoutSignal } from '../../lib/index.js';
import type { UserNotice, UserNotifier } from '../../platform/index.js';
import type { HeldSession } from './session-manager.js';

/** The notice for `alias`; undefined for a value that is not a DNS name (never shown then). */
export function credentialsNotice(alias: string): UserNotice | undefined {
  if (!isValidAliasValue(alias)) return undefined;
  return {
    title: `Boundary credentials for ${alias}`,
    body: `Your session to ${alias} has brokered credentials. Run "client-agent sessions --show-credentials" to see them.`,
  };
}

export interface CredentialsNoticesOptions {
  readonly notifier: UserNotifier;
  readonly clock: Clock;
  readonly log: Logger;
}

/** Sends the notice for established sessions that have credentials; never throws, never waits. */
export class CredentialsNotices {
  readonly #o: CredentialsNoticesOptions;
  readonly #log: Logger;
  /** Users a failed notice was logged for at warn: later failures for them go to debug. */
  readonly #warned = new Set<number>();

  constructor(options: CredentialsNoticesOptions) {
    this.#o = options;
    this.#log = options.log.child({ component: 'notices' });
  }

  /**
   * The session's first connection is through: tell its owner, when it has credentials. Bound, for
   * the session manager's onEstablished.
   */
  readonly established = (session: HeldSession): void => {
    if ((session.authorization.credentials ?? []).length === 0) return;
    void this.send(session);
  };

  /** What `established` starts, awaited: for tests and the dev command. */
  async send(session: HeldSession): Promise<void> {
    const { uid, alias } = session;
    const fields = { uid, alias, session: session.data.sessionId };
    const notice = credentialsNotice(alias);
    if (notice === undefined) {
      this.#log.warn(fields, 'No credentials notice: the alias is not a DNS name.');
      return;
    }
    const bound = timeoutSignal(this.#o.clock, 10_000);
    try {
      const result = await this.#o.notifier.notify(uid, notice, bound.signal);
      if (result === 'no-session') {
        this.#log.debug(fields, 'No credentials notice: the user has no desktop session.');
      } else {
        this.#log.info(fields, 'Told the user the session has brokered credentials.');
      }
    } catch (err) {
      const level = this.#warned.has(uid) ? 'debug' : 'warn';
      this.#warned.add(uid);
      this.#log[level](
        { ...fields, err: (err as Error).message },
        'Could not show the credentials notice.',
      );
    } finally {
      bound.cancel();
    }
  }
}
