/**
 * Boundary tokens per local OS user and the aliases each may resolve, refreshed from the
 * controller: a full listing first, then deltas from the saved list token every
 * alias_refresh_interval (±10 %). One controller at a time. The merged view is an immutable
 * snapshot, replaced whole after every change.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { AuthToken } from '../boundary/api-types.js';
import type { AliasListing, ControllerClient } from '../boundary/controller-client.js';
import { tokenId } from '../boundary/controller-client.js';
import { ControllerError, INVALID_LIST_TOKEN_KIND } from '../boundary/errors.js';
import type { Clock, TimerHandle } from '../lib/clock.js';
import { isValidAliasValue } from './alias-value.js';
import { backoffDelay, DEFAULT_MAX_BACKOFF_MS, nextRefreshDelay } from './refresh-schedule.js';
import { buildSnapshot, EMPTY_SNAPSHOT, type AliasSnapshot, type UserAlias } from './snapshot.js';

/** What the cache needs of a controller client. */
export type AliasSourceClient = Pick<ControllerClient, 'readAuthToken' | 'listResolvableAliases'>;

export interface TokenInfo {
  readonly uid: number;
  readonly controllerAddress: string;
  readonly token: string;
  readonly tokenId: string;
  readonly userId: string;
  /** Milliseconds since the epoch; undefined when the controller did not say. */
  readonly expiration: number | undefined;
}

export type TokenRemovalReason = 'expired' | 'replaced' | 'removed';

export interface RefreshRecord {
  readonly time: number;
  readonly kind: 'full' | 'delta';
  readonly uid: number;
}

export interface ErrorRecord {
  readonly time: number;
  readonly uid: number;
  readonly message: string;
}

export interface AliasCacheStatus {
  readonly aliasCount: number;
  readonly users: number;
  readonly controllerAddress: string | undefined;
  readonly lastRefresh: RefreshRecord | undefined;
  readonly lastError: ErrorRecord | undefined;
}

interface AliasCacheEvents {
  snapshot: [snapshot: AliasSnapshot];
  'token-removed': [info: TokenInfo, reason: TokenRemovalReason];
  /** A refresh failed for a reason worth counting toward the self-pause rule (no answer, 5xx). */
  /** A refresh with `uid`'s token got no answer. */
  failure: [error: ControllerError, uid: number];
}

export interface AliasCacheOptions {
  readonly clientFor: (controllerAddress: string) => AliasSourceClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly refreshIntervalMs: number;
  /** In [0, 1); Math.random by default. */
  readonly random?: () => number;
  readonly pageSize?: number;
  readonly maxBackoffMs?: number;
}

interface UserState {
  readonly info: TokenInfo;
  readonly aliases: Map<string, UserAlias>;
  readonly addedAt: number;
  readonly abort: AbortController;
  listToken: string | undefined;
  timer: TimerHandle | undefined;
  expiryTimer: TimerHandle | undefined;
  inFlight: Promise<void> | undefined;
  lastStart: number;
  failures: number;
  lastRefresh: RefreshRecord | undefined;
  lastFailure: { readonly time: number; readonly error: unknown } | undefined;
}

/** One user's last alias refresh and last refresh failure. */
export interface UserRefreshStatus {
  readonly last: RefreshRecord | undefined;
  readonly error: { readonly time: number; readonly error: unknown } | undefined;
}

/** Misses this soon after a token was added trigger an immediate refresh (at most every 5 s). */
const MISS_WINDOW_MS = 2 * 60_000;
const MISS_MIN_GAP_MS = 5_000;

export class AliasCache extends EventEmitter<AliasCacheEvents> {
  readonly #o: AliasCacheOptions;
  readonly #log: Logger;
  readonly #random: () => number;
  readonly #users = new Map<number, UserState>();
  #interval: number;
  #snapshot: AliasSnapshot = EMPTY_SNAPSHOT;
  #lastRefresh: RefreshRecord | undefined;
  #lastError: ErrorRecord | undefined;
  #closed = false;

  constructor(options: AliasCacheOptions) {
    super();
    this.#o = options;
    this.#log = options.log.child({ component: 'alias-cache' });
    this.#random = options.random ?? Math.random;
    this.#interval = options.refreshIntervalMs;
  }

  snapshot(): AliasSnapshot {
    return this.#snapshot;
  }

  tokenFor(uid: number): TokenInfo | undefined {
    return this.#users.get(uid)?.info;
  }

  tokens(): TokenInfo[] {
    return [...this.#users.values()].map((s) => s.info);
  }

  controllerAddress(): string | undefined {
    return this.#users.values().next().value?.info.controllerAddress;
  }

  status(): AliasCacheStatus {
    return {
      aliasCount: this.#snapshot.size,
      users: this.#users.size,
      controllerAddress: this.controllerAddress(),
      lastRefresh: this.#lastRefresh,
      lastError: this.#lastError,
    };
  }

  /**
   * Stores `token` for `uid` after reading it back from the controller (which proves it and
   * tells the Boundary user and expiry), then lists that user's aliases at once. A token for
   * another controller replaces every token held.
   */
  async addToken(
    uid: number,
    controllerAddress: string,
    token: string,
    signal?: AbortSignal,
  ): Promise<TokenInfo> {
    const id = tokenId(token);
    const client = this.#o.clientFor(controllerAddress);
    const record: AuthToken = await client.readAuthToken(token, signal);
    const info: TokenInfo = {
      uid,
      controllerAddress,
      token,
      tokenId: id,
      userId: record.user_id,
      expiration:
        record.expiration_time === undefined ? undefined : Date.parse(record.expiration_time),
    };
    const current = this.controllerAddress();
    if (current !== undefined && current !== controllerAddress) {
      this.#log.warn(
        { from: current, to: controllerAddress },
        'A token for another controller replaces every token held.',
      );
      for (const other of [...this.#users.keys()]) this.#remove(other, 'replaced');
    }
    this.#remove(uid, 'replaced');
    const now = this.#o.clock.now();
    const state: UserState = {
      info,
      aliases: new Map(),
      addedAt: now,
      abort: new AbortController(),
      listToken: undefined,
      timer: undefined,
      expiryTimer: undefined,
      inFlight: undefined,
      lastStart: 0,
      failures: 0,
      lastRefresh: undefined,
      lastFailure: undefined,
    };
    if (info.expiration !== undefined) {
      state.expiryTimer = this.#o.clock.setTimeout(() => {
        this.#log.info({ uid, tokenId: id }, 'The Boundary token expired.');
        this.#remove(uid, 'expired');
      }, info.expiration - now);
    }
    this.#users.set(uid, state);
    this.#log.info(
      { uid, tokenId: id, userId: info.userId, controller: controllerAddress },
      'Token added.',
    );
    await this.refresh(uid);
    return info;
  }

  /** The user's last refresh and last failure; both undefined for a user without a token. */
  userStatus(uid: number): UserRefreshStatus {
    const state = this.#users.get(uid);
    return { last: state?.lastRefresh, error: state?.lastFailure };
  }

  removeToken(uid: number): void {
    this.#remove(uid, 'removed');
  }

  /** Refreshes one user's aliases now; joins a refresh already running. */
  refresh(uid: number): Promise<void> {
    const state = this.#users.get(uid);
    if (state === undefined || this.#closed) return Promise.resolve();
    state.inFlight ??= this.#refresh(state).finally(() => {
      state.inFlight = undefined;
    });
    return state.inFlight;
  }

  /** Resolves when no refresh is running (those running now have ended). */
  async idle(): Promise<void> {
    await Promise.all([...this.#users.values()].map((s) => s.inFlight ?? Promise.resolve()));
  }

  /** A DNS name was not an alias: shortly after a token was added, look again at once. */
  noteMiss(): void {
    const now = this.#o.clock.now();
    for (const state of this.#users.values()) {
      if (now - state.addedAt <= MISS_WINDOW_MS && now - state.lastStart >= MISS_MIN_GAP_MS) {
        void this.refresh(state.info.uid);
      }
    }
  }

  /** SIGHUP: the next refresh of each user is scheduled with the new interval. */
  setRefreshInterval(ms: number): void {
    this.#interval = ms;
    for (const state of this.#users.values()) {
      if (state.inFlight === undefined && state.failures === 0)
        this.#schedule(state, nextRefreshDelay(ms, this.#random));
    }
  }

  close(): void {
    this.#closed = true;
    for (const uid of [...this.#users.keys()]) this.#remove(uid, 'removed', false);
  }

  async #refresh(state: UserState): Promise<void> {
    state.timer?.cancel();
    state.lastStart = this.#o.clock.now();
    const { uid } = state.info;
    try {
      const listing = await this.#list(state);
      if (this.#users.get(uid) !== state) return;
      this.#apply(state, listing);
      state.failures = 0;
      this.#schedule(state, nextRefreshDelay(this.#interval, this.#random));
    } catch (err) {
      if (this.#users.get(uid) !== state || state.abort.signal.aborted) return;
      this.#failed(state, err);
    }
  }

  async #list(state: UserState): Promise<AliasListing> {
    const client = this.#o.clientFor(state.info.controllerAddress);
    const list = () =>
      client.listResolvableAliases(state.info.token, state.info.userId, {
        listToken: state.listToken,
        pageSize: this.#o.pageSize,
        signal: state.abort.signal,
      });
    try {
      return await list();
    } catch (err) {
      if (
        !(err instanceof ControllerError) ||
        err.status !== 400 ||
        err.kind !== INVALID_LIST_TOKEN_KIND
      )
        throw err;
      this.#log.info(
        { uid: state.info.uid, reason: err.message },
        'The list token is no longer valid; listing every alias again.',
      );
      state.listToken = undefined;
      return list();
    }
  }

  #apply(state: UserState, listing: AliasListing): void {
    const { uid } = state.info;
    if (!listing.refresh) state.aliases.clear();
    for (const item of listing.items) {
      const value = item.value ?? '';
      if (item.destination_id === undefined || item.destination_id === '') {
        state.aliases.delete(item.id);
      } else if (!isValidAliasValue(value)) {
        this.#log.warn(
          { uid, aliasId: item.id, value },
          'Skipped an alias whose value is not a DNS name.',
        );
        state.aliases.delete(item.id);
      } else {
        state.aliases.set(item.id, { id: item.id, value, destinationId: item.destination_id });
      }
    }
    for (const id of listing.removedIds) state.aliases.delete(id);
    state.listToken = listing.listToken;
    const kind = listing.refresh ? 'delta' : 'full';
    this.#lastRefresh = { time: this.#o.clock.now(), kind, uid };
    state.lastRefresh = this.#lastRefresh;
    const changed = !listing.refresh || listing.items.length > 0 || listing.removedIds.length > 0;
    this.#log.debug(
      {
        uid,
        kind,
        items: listing.items.length,
        removed: listing.removedIds.length,
        pages: listing.pages,
      },
      'Aliases refreshed.',
    );
    if (changed) this.#rebuild();
  }

  #failed(state: UserState, err: unknown): void {
    const { uid } = state.info;
    const error = err instanceof ControllerError ? err : undefined;
    const message = err instanceof Error ? err.message : String(err);
    this.#lastError = { time: this.#o.clock.now(), uid, message };
    state.lastFailure = { time: this.#lastError.time, error: err };
    if (error?.status === 401) {
      this.#log.warn(
        { uid, tokenId: state.info.tokenId },
        'The controller no longer accepts the token; dropping it.',
      );
      this.#remove(uid, 'expired');
      return;
    }
    state.failures++;
    if (error?.transient === true) {
      this.#log.warn(
        { uid, failures: state.failures, err: message },
        'Alias refresh failed; serving the last known aliases.',
      );
      this.emit('failure', error, uid);
      this.#schedule(
        state,
        backoffDelay(state.failures, this.#o.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS, this.#random),
      );
    } else {
      this.#log.warn({ uid, err: message }, 'The controller refused the alias listing.');
      this.#schedule(state, nextRefreshDelay(this.#interval, this.#random));
    }
  }

  #schedule(state: UserState, delayMs: number): void {
    state.timer?.cancel();
    if (this.#closed) return;
    state.timer = this.#o.clock.setTimeout(() => {
      void this.refresh(state.info.uid);
    }, delayMs);
  }

  #remove(uid: number, reason: TokenRemovalReason, announce = true): void {
    const state = this.#users.get(uid);
    if (state === undefined) return;
    this.#users.delete(uid);
    state.abort.abort();
    state.timer?.cancel();
    state.expiryTimer?.cancel();
    if (state.aliases.size > 0) this.#rebuild();
    if (announce) this.emit('token-removed', state.info, reason);
  }

  #rebuild(): void {
    const perUid = new Map<number, Iterable<UserAlias>>();
    for (const [uid, state] of this.#users) perUid.set(uid, state.aliases.values());
    this.#snapshot = buildSnapshot(perUid);
    this.emit('snapshot', this.#snapshot);
  }
}
