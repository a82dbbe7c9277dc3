/**
 * Aliases for users whose Boundary user may not list them. Boundary documents that without the
 * `list-resolvable-aliases` grant every DNS request on the system is sent to the controller: an
 * A/AAAA name that is not in the snapshot is tried as an alias by authorizing a session by that
 * name (the controller resolves alias values in the target path itself:
 * internal/alias/interceptor.go), with each such user's own token. A name that is an alias for
 * none of them is remembered for a while (negative cache) and new tries are rate-limited, so that
 * a machine's ordinary lookups cannot flood the controller; any failure leaves the query to the
 * upstream resolvers.
 *
 * The session a found alias gets is the token user's own, whoever asked: DNS does not say who
 * asks, and the connection check still serves only that user.
 */
import type { Logger } from 'pino';
import { isValidAliasValue, normalizeName, type AliasEntry } from '../../alias-cache/index.js';
import { ControllerError } from '../../boundary/errors.js';
import type { Clock } from '../../lib/clock.js';
import { RateLimiter, type RateLimit } from '../../lib/rate-limiter.js';
import type { HeldSession } from './session-manager.js';

export interface UnlistedAliasesOptions {
  /** The OS users whose listing the controller refused, in the order to try them. */
  readonly candidates: () => readonly number[];
  /** Authorizes (or reuses) the (uid, alias) session, by the alias value. */
  readonly acquire: (uid: number, alias: AliasEntry, signal: AbortSignal) => Promise<HeldSession>;
  /** Records the alias for the user; returns the snapshot's entry. */
  readonly learn: (uid: number, value: string, destinationId: string) => AliasEntry | undefined;
  readonly clock: Clock;
  readonly log: Logger;
  /** How long a name that is no alias is not tried again; default 60 s. */
  readonly negativeTtlMs?: number;
  /** Tries at the controller, for the whole machine; default 10 at once, then 2 a second. */
  readonly rate?: RateLimit;
  /** Names remembered as no alias at most (default 10,000; the oldest go first). */
  readonly maxNegative?: number;
}

const DEFAULT_RATE: RateLimit = { burst: 10, perSecond: 2 };

export class UnlistedAliases {
  readonly #o: UnlistedAliasesOptions;
  readonly #log: Logger;
  readonly #rate: RateLimiter;
  /** Name → until when it is known to be no alias. */
  readonly #negative = new Map<string, number>();
  readonly #trying = new Map<string, Promise<AliasEntry | undefined>>();

  constructor(options: UnlistedAliasesOptions) {
    this.#o = options;
    this.#log = options.log.child({ component: 'unlisted-aliases' });
    this.#rate = new RateLimiter({ ...(options.rate ?? DEFAULT_RATE), clock: options.clock });
  }

  /**
   * Undefined at once when there is nothing to try; else the alias found, or undefined.
   * `signal()` is called only when a try starts.
   */
  lookup(name: string, signal: () => AbortSignal): Promise<AliasEntry | undefined> | undefined {
    const uids = this.#o.candidates();
    if (uids.length === 0) return undefined;
    const value = normalizeName(name);
    if (!isValidAliasValue(value)) return undefined;
    const now = this.#o.clock.now();
    const until = this.#negative.get(value);
    if (until !== undefined) {
      if (until > now) return undefined;
      this.#negative.delete(value);
    }
    const trying = this.#trying.get(value);
    if (trying !== undefined) return trying;
    if (!this.#rate.take('controller')) {
      this.#log.debug({ name: value }, 'Too many alias tries at the controller; not trying one.');
      return undefined;
    }
    const attempt = this.#try(uids, value, signal()).finally(() => this.#trying.delete(value));
    this.#trying.set(value, attempt);
    return attempt;
  }

  async #try(
    uids: readonly number[],
    value: string,
    signal: AbortSignal,
  ): Promise<AliasEntry | undefined> {
    for (const uid of uids) {
      const probe: AliasEntry = { value, id: '', destinationId: '', uids: [uid] };
      try {
        const session = await this.#o.acquire(uid, probe, signal);
        const entry = this.#o.learn(uid, value, session.authorization.target_id ?? '');
        if (entry !== undefined) return entry;
      } catch (err) {
        // 404: no such alias for this user (Boundary's answer is deliberately opaque); 403: no
        // grant on its target. Anything else (no answer, rate limit) is not a verdict on the name.
        const verdict =
          err instanceof ControllerError && (err.status === 404 || err.status === 403);
        if (!verdict) {
          this.#log.debug(
            { uid, name: value, err: (err as Error).message },
            'Could not try a name as an alias.',
          );
          return undefined;
        }
      }
    }
    this.#remember(value);
    return undefined;
  }

  #remember(value: string): void {
    const max = this.#o.maxNegative ?? 10_000;
    if (this.#negative.size >= max) {
      const oldest = this.#negative.keys().next().value;
      if (oldest !== undefined) this.#negative.delete(oldest);
    }
    this.#negative.set(value, this.#o.clock.now() + (this.#o.negativeTtlMs ?? 60_000));
  }
}
