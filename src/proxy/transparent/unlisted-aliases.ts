/**
 * Aliases for users whose Boundary user may not list them. Boundary documents that without the
 * `list-resolvable-aliases` grant every DNS request on the system is sent to the controller: an
 * A/AAAA name that is not in the snapshot is tried as an alias by authorizing a session by that
 * name (the controller resolves alias values in the target path itself:
 * internal/alias/interceptor.go). A name that is no alias for a user is remembered for a while
 * (negative cache) and new tries are rate-limited, so that
 * a machine's ordinary lookups cannot flood the controller; any failure leaves the query to the
 * upstream resolvers.
 *
 * A name is tried only with the token of the user who asked (the local OS user owning the
 * querying socket), and only if that user's listing was refused: another user's lookup, or one
 * whose asker cannot be told (a local forwarder in between), tries nobody's token, so it never
 * creates a session on a user's account. The negative cache is per user: a name that is no alias
 * for one user may be one for another.
 */
import type { Logger } from 'pino';
import { isValidAliasValue, normalizeName, type AliasEntry } from '../../alias-cache/index.js';
import { ControllerError } from '../../boundary/index.js';
import { type Clock, RateLimiter, type RateLimit } from '../../lib/index.js';
import type { QueryAsker, QueryOrigin } from './query-asker.js';
import type { HeldSession } from './session-manager.js';

export interface UnlistedAliasesOptions {
  /** The OS users whose listing the controller refused. */
  readonly candidates: () => readonly number[];
  /** Who asked the query (queryAsker); asked only when a name is to be tried. */
  readonly asker: QueryAsker;
  /** Authorizes (or reuses) the (uid, alias) session, by the alias value. */
  readonly acquire: (uid: number, alias: AliasEntry, signal: AbortSignal) => Promise<HeldSession>;
  /** Records the alias for the user; returns the snapshot's entry. */
  readonly learn: (uid: number, value: string, destinationId: string) => AliasEntry | undefined;
  readonly clock: Clock;
  readonly log: Logger;
  /** How long a name that is no alias for a user is not tried again for them; default 60 s. */
  readonly negativeTtlMs?: number;
  /** Tries at the controller, for the whole machine; default 10 at once, then 2 a second. */
  readonly rate?: RateLimit;
  /** (user, name) pairs remembered as no alias at most (default 10,000; the oldest go first). */
  readonly maxNegative?: number;
}

const DEFAULT_RATE: RateLimit = { burst: 10, perSecond: 2 };

export class UnlistedAliases {
  readonly #o: UnlistedAliasesOptions;
  readonly #log: Logger;
  readonly #rate: RateLimiter;
  /** `uid name` → until when the name is known to be no alias for that user. */
  readonly #negative = new Map<string, number>();
  readonly #trying = new Map<string, Promise<AliasEntry | undefined>>();

  constructor(options: UnlistedAliasesOptions) {
    this.#o = options;
    this.#log = options.log.child({ component: 'unlisted-aliases' });
    this.#rate = new RateLimiter({ ...(options.rate ?? DEFAULT_RATE), clock: options.clock });
  }

  /**
   * Undefined at once when there is nothing to try (no such user, not a name, or no alias for
   * any of them); else the alias found for the asker, or undefined. The asker is looked up, and
   * `signal()` called, only past those checks.
   */
  lookup(
    name: string,
    origin: QueryOrigin,
    signal: () => AbortSignal,
  ): Promise<AliasEntry | undefined> | undefined {
    const uids = this.#o.candidates();
    if (uids.length === 0) return undefined;
    const value = normalizeName(name);
    if (!isValidAliasValue(value)) return undefined;
    const now = this.#o.clock.monotonic();
    if (uids.every((uid) => this.#isNegative(uid, value, now))) return undefined;
    return this.#forAsker(value, origin, signal);
  }

  async #forAsker(
    value: string,
    origin: QueryOrigin,
    signal: () => AbortSignal,
  ): Promise<AliasEntry | undefined> {
    const uid = await this.#o.asker(origin);
    if (uid === undefined || !this.#o.candidates().includes(uid)) return undefined;
    if (this.#isNegative(uid, value, this.#o.clock.monotonic())) return undefined;
    const key = `${uid} ${value}`;
    const trying = this.#trying.get(key);
    if (trying !== undefined) return trying;
    if (!this.#rate.take('controller')) {
      this.#log.debug({ name: value }, 'Too many alias tries at the controller; not trying one.');
      return undefined;
    }
    const attempt = this.#try(uid, value, signal()).finally(() => this.#trying.delete(key));
    this.#trying.set(key, attempt);
    return attempt;
  }

  async #try(uid: number, value: string, signal: AbortSignal): Promise<AliasEntry | undefined> {
    const probe: AliasEntry = { value, id: '', destinationId: '', uids: [uid] };
    try {
      const session = await this.#o.acquire(uid, probe, signal);
      const entry = this.#o.learn(uid, value, session.authorization.target_id ?? '');
      if (entry !== undefined) return entry;
    } catch (err) {
      // 404: no such alias for this user (Boundary's answer is deliberately opaque); 403: no
      // grant on its target. Anything else (no answer, rate limit) is not a verdict on the name.
      const verdict = err instanceof ControllerError && (err.status === 404 || err.status === 403);
      if (!verdict) {
        this.#log.debug(
          { uid, name: value, err: (err as Error).message },
          'Could not try a name as an alias.',
        );
        return undefined;
      }
    }
    this.#remember(`${uid} ${value}`);
    return undefined;
  }

  #isNegative(uid: number, value: string, now: number): boolean {
    const key = `${uid} ${value}`;
    const until = this.#negative.get(key);
    if (until === undefined) return false;
    if (until > now) return true;
    this.#negative.delete(key);
    return false;
  }

  #remember(key: string): void {
    const max = this.#o.maxNegative ?? 10_000;
    if (this.#negative.size >= max) {
      const oldest = this.#negative.keys().next().value;
      if (oldest !== undefined) this.#negative.delete(oldest);
    }
    this.#negative.set(key, this.#o.clock.monotonic() + (this.#o.negativeTtlMs ?? 60_000));
  }
}
