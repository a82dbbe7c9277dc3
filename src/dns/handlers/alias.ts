/**
 * Answers names that are Boundary aliases: A → the alias's proxy IPv4, AAAA → its IPv6 (an
 * empty answer when IPv6 is off), any other type → an empty NOERROR answer; authoritative,
 * TTL 5 s, question echoed, OPT included when the query had one. Before answering it asks the
 * proxy side to make the alias reachable; if that fails or takes longer than
 * dns_request_timeout, the query goes upstream instead and the failure is recorded.
 *
 * Answers are encoded once per (question bytes, EDNS, RD, addresses) and kept; a hit copies the
 * kept bytes and patches the id.
 */
import type { Logger } from 'pino';
import type { AliasEntry, AliasSnapshot } from '../../alias-cache/index.js';
import type { Clock } from '../../lib/index.js';
import { isPromiseLike, raceTimeout, SharedDeadlines } from '../deadline.js';
import { AliasPrepareError, DnsOptionsError, type ErrorRecorder } from '../errors.js';
import type { DnsAnswer, DnsHandler, MaybePromise, Next } from '../handler.js';
import { encodeAnswer } from '../answer.js';
import type { Answer } from '../packet.js';
import { hasPlainName, type DnsQuery, type QueryOrigin } from '../query.js';
import { FLAG_RD, setId } from '../wire.js';

/** The TTL of alias answers (and of their reverse names), seconds. */
export const ALIAS_TTL_SECONDS = 5;

export interface PreparedAlias {
  readonly v4: string;
  /** Absent when IPv6 is off. */
  readonly v6?: string;
}

/** The proxy side: makes an alias reachable (session, listener) and says at which addresses. */
export interface AliasPreparer {
  /**
   * May return the addresses at once when the alias is already reachable (the allocator alone
   * always does: answering from memory is the fast path); `signal` aborts at
   * dns_request_timeout. `origin` tells who asked: the preparer asks the OS only when it has
   * work to do, so answers from memory cost no lookup.
   */
  prepare(
    alias: AliasEntry,
    origin: QueryOrigin,
    signal: AbortSignal,
  ): PreparedAlias | Promise<PreparedAlias>;
}

export interface AliasHandlerOptions {
  /** The current alias-cache snapshot (swapped whole on refresh). */
  readonly snapshot: () => AliasSnapshot;
  readonly preparer: AliasPreparer;
  /** dns_request_timeout: how long preparing may take before the query goes upstream. */
  readonly requestTimeoutMs: number;
  readonly clock: Clock;
  readonly log: Logger;
  readonly errors?: ErrorRecorder | undefined;
  /** Names always forwarded, never answered as aliases (the controller's own host name). */
  readonly alwaysForward?: ((name: string) => boolean) | undefined;
  /**
   * For a name that is not in the snapshot: tries it as an alias the snapshot could not list
   * (the user lacks the listing grant) and resolves to its entry, or undefined when it is none;
   * returns undefined at once when there is nothing to try. `origin` tells who asked (only the
   * asker's own token may try). `signal()` gives the signal that aborts at dns_request_timeout
   * (asked for only when something is tried: every forwarded name passes here).
   */
  readonly unlisted?:
    | ((
        name: string,
        origin: QueryOrigin,
        signal: () => AbortSignal,
      ) => Promise<AliasEntry | undefined> | undefined)
    | undefined;
  /** TTL of alias answers, seconds (default 5). */
  readonly ttlSeconds?: number | undefined;
  /** How many encoded answers to keep (default 4096); the store is emptied when full. */
  readonly answerCacheSize?: number | undefined;
}

/** An answer encoded once and reused for the same question bytes, RD bit and EDNS use. */
interface KeptAnswer {
  readonly entry: AliasEntry;
  readonly v4: string | undefined;
  readonly v6: string | undefined;
  readonly bytes: Buffer;
}

export class AliasHandler implements DnsHandler {
  readonly name = 'alias';
  readonly #options: AliasHandlerOptions;
  readonly #log: Logger;
  readonly #ttl: number;
  readonly #cacheSize: number;
  readonly #kept = new Map<string, KeptAnswer>();
  /** The snapshot the kept answers were made from; a new snapshot empties them. */
  #keptFor: AliasSnapshot | undefined;
  readonly #deadlines: SharedDeadlines;
  #requestTimeoutMs: number;

  constructor(options: AliasHandlerOptions) {
    checkTimeout(options.requestTimeoutMs);
    this.#options = options;
    this.#log = options.log.child({ component: 'dns', handler: 'alias' });
    this.#ttl = options.ttlSeconds ?? ALIAS_TTL_SECONDS;
    this.#cacheSize = options.answerCacheSize ?? 4096;
    this.#requestTimeoutMs = options.requestTimeoutMs;
    this.#deadlines = new SharedDeadlines(options.clock);
    if (!Number.isInteger(this.#ttl) || this.#ttl < 0) {
      throw new DnsOptionsError(`alias TTL must be a whole number of seconds, not ${this.#ttl}`);
    }
    if (!Number.isInteger(this.#cacheSize) || this.#cacheSize < 1) {
      throw new DnsOptionsError('answerCacheSize must be a positive integer');
    }
  }

  /** Applies a reloaded dns_request_timeout. */
  setRequestTimeout(ms: number): void {
    checkTimeout(ms);
    this.#requestTimeoutMs = ms;
  }

  serve(q: DnsQuery, next: Next, signal: AbortSignal): MaybePromise<DnsAnswer> {
    const snapshot = this.#options.snapshot();
    if (snapshot !== this.#keptFor) {
      this.#kept.clear();
      this.#keptFor = snapshot;
    }
    const key = keyOf(q);
    const kept = this.#kept.get(key);
    let entry: AliasEntry | undefined = kept?.entry;
    if (entry === undefined) {
      // not answered before: a plain name of class IN that is an alias in this snapshot
      if (q.qclass !== 'IN' || !hasPlainName(q)) return next(q, signal);
      entry = snapshot.lookup(q.name);
      if (entry === undefined) return this.#unlisted(q, key, next, signal);
    }
    return this.#answer(q, key, entry, next, signal);
  }

  /**
   * A name not in the snapshot, for a user whose aliases cannot be listed: the `unlisted` option
   * may try it at the controller (within dns_request_timeout); if it finds no alias, the query
   * goes on as any other name.
   */
  #unlisted(q: DnsQuery, key: string, next: Next, signal: AbortSignal): MaybePromise<DnsAnswer> {
    if ((q.type !== 'A' && q.type !== 'AAAA') || this.#options.alwaysForward?.(q.name) === true) {
      return next(q, signal);
    }
    const timeoutMs = this.#requestTimeoutMs;
    const found = this.#options.unlisted?.(q.name, q, () =>
      this.#deadlines.signal(timeoutMs, () => tooSlow(undefined, timeoutMs)),
    );
    if (found === undefined) return next(q, signal);
    return raceTimeout(found, timeoutMs, this.#options.clock, () =>
      tooSlow(q.name, timeoutMs),
    ).then(
      (entry) =>
        entry === undefined ? next(q, signal) : this.#answer(q, key, entry, next, signal),
      () => next(q, signal),
    );
  }

  #answer(
    q: DnsQuery,
    key: string,
    entry: AliasEntry,
    next: Next,
    signal: AbortSignal,
  ): MaybePromise<DnsAnswer> {
    if (this.#options.alwaysForward?.(entry.value) === true) return next(q, signal);
    if (q.type !== 'A' && q.type !== 'AAAA') return this.#reply(q, key, entry, undefined);
    const timeoutMs = this.#requestTimeoutMs;
    let prepared: MaybePromise<PreparedAlias>;
    try {
      prepared = this.#options.preparer.prepare(
        entry,
        q,
        this.#deadlines.signal(timeoutMs, () => tooSlow(undefined, timeoutMs)),
      );
    } catch (e) {
      return this.#failed(entry, e, q, next, signal);
    }
    if (!isPromiseLike(prepared)) return this.#reply(q, key, entry, prepared);
    const alias = entry;
    return raceTimeout(prepared, timeoutMs, this.#options.clock, () =>
      tooSlow(alias.value, timeoutMs),
    ).then(
      (addresses) => this.#reply(q, key, alias, addresses),
      (e: unknown) => this.#failed(alias, e, q, next, signal),
    );
  }

  /** Aborts preparations still running and releases their timers. */
  close(): void {
    this.#deadlines.close(new Error('the DNS server is closing'));
  }

  #failed(
    entry: AliasEntry,
    e: unknown,
    q: DnsQuery,
    next: Next,
    signal: AbortSignal,
  ): MaybePromise<DnsAnswer> {
    if (signal.aborted) throw e;
    const error =
      e instanceof AliasPrepareError
        ? e
        : new AliasPrepareError(
            entry.value,
            `could not make ${entry.value} reachable: ${(e as Error).message}`,
            { cause: e, hint: (e as { hint?: string }).hint },
          );
    this.#log.warn(
      { alias: entry.value, err: error.message },
      'Preparing an alias failed; the query goes upstream.',
    );
    this.#options.errors?.record(error, { uids: entry.uids });
    return next(q, signal);
  }

  /** The kept answer for this question (encoded again when the addresses changed), with the query's id. */
  #reply(
    q: DnsQuery,
    key: string,
    entry: AliasEntry,
    addresses: PreparedAlias | undefined,
  ): DnsAnswer {
    const v4 = addresses?.v4;
    const v6 = addresses?.v6;
    let kept = this.#kept.get(key);
    if (kept === undefined || kept.v4 !== v4 || kept.v6 !== v6) {
      if (this.#kept.size >= this.#cacheSize) this.#kept.clear();
      kept = { entry, v4, v6, bytes: this.#encode(q, v4, v6) };
      this.#kept.set(key, kept);
    }
    const bytes = Buffer.from(kept.bytes);
    setId(bytes, q.id);
    return { bytes, by: this.name };
  }

  #encode(q: DnsQuery, v4: string | undefined, v6: string | undefined): Buffer {
    const answers: Answer[] = [];
    if (q.type === 'A' && v4 !== undefined) {
      answers.push({ name: q.name, type: 'A', class: 'IN', ttl: this.#ttl, data: v4 });
    } else if (q.type === 'AAAA' && v6 !== undefined) {
      answers.push({ name: q.name, type: 'AAAA', class: 'IN', ttl: this.#ttl, data: v6 });
    }
    return encodeAnswer(q, answers);
  }
}

/** The question bytes (name, type, class) plus one character for RD, EDNS and DO. */
function keyOf(q: DnsQuery): string {
  const rd = (q.bytes.readUInt16BE(2) & FLAG_RD) !== 0 ? 1 : 0;
  const edns = q.edns === undefined ? 0 : q.edns.dnssecOk ? 4 : 2;
  return q.bytes.toString('latin1', 12, q.questionEnd) + String.fromCharCode(48 + (rd | edns));
}

function tooSlow(alias: string | undefined, ms: number): AliasPrepareError {
  const what = alias ?? 'an alias';
  return new AliasPrepareError(
    alias ?? '',
    `preparing ${what} took longer than dns_request_timeout (${ms} ms)`,
  );
}

function checkTimeout(ms: number): void {
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new DnsOptionsError(`dns_request_timeout must be a positive number of ms, not ${ms}`);
  }
}
