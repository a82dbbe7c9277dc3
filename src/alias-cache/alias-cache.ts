/**
 * Boundary tokens per local OS user and the aliases each may resolve, refreshed from the
 * controller: a full listing first, then deltas from the saved list token every
 * alias_refresh_interval (±10 %). One controller at a time. The merged view is an immutable
 * snapshot, replaced whole after every change.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import {
  type AuthToken,
  type AliasListing,
  type ControllerClient,
  tokenId,
  normalizeControllerAddress,
  ControllerError,
  INVALID_LIST_TOKEN_KIND,
} from '../boundary/index.js';
import type { Clock, TimerHandle } from '../lib/index.js';
import { isValidAliasValue } from './alias-value.js';
import { backoffDelay, DEFAULT_MAX_BACKOFF_MS, nextRefreshDelay } from './refresh-schedule.js';
import {
  buildSnapshot,
  EMPTY_SNAPSHOT,
  normalizeName,
  type AliasEntry,
  type AliasSnapshot,
  type UserAlias,
} from './snapshot.js';

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

export interface AddTokenOptions {
  readonly signal?: AbortSignal | undefined;
  /** Return only once the user's aliases are listed (default); false: list them in the background. */
  readonly waitForAliases?: boolean | undefined;
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
  info: TokenInfo;
  readonly aliases: Map<string, UserAlias>;
  /** Monotonic milliseconds, as is lastStart: they time the look-again-on-a-miss window. */
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
  /** The controller refused this user's listing (403): aliases are learned name by name. */
  listingRefused: boolean;
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
   * tells the Boundary user and expiry). Boundary's CLI hands the agent its token after every
   * successful command (internal/cmd/wrapper/command_wrapper.go), so this is the common case and
   * must cost nothing: the same token at the same controller changes nothing and reads nothing;
   * a new token of the same Boundary user at the same controller is swapped in place (aliases,
   * list token and sessions kept); only another Boundary user or controller starts over, and a
   * token for another controller replaces every token held. The aliases are listed at once; with
   * `waitForAliases: false` in the background, so that the caller is answered first.
   */
  async addToken(
    uid: number,
    controllerAddress: string,
    token: string,
    options: AddTokenOptions = {},
  ): Promise<TokenInfo> {
    const address = normalizeControllerAddress(controllerAddress);
    const id = tokenId(token);
    const held = this.#users.get(uid);
    if (held?.info.token === token && held.info.controllerAddress === address) {
      if (options.waitForAliases !== false) await this.refresh(uid);
      return held.info;
    }
    const client = this.#o.clientFor(address);
    const record: AuthToken = await client.readAuthToken(token, options.signal);
    const info: TokenInfo = {
      uid,
      controllerAddress: address,
      token,
      tokenId: id,
      userId: record.user_id,
      expiration:
        record.expiration_time === undefined ? undefined : Date.parse(record.expiration_time),
    };
    const now = this.#o.clock.now();
    // Looked up again: another hand-off may have finished while the token was being read.
    const current = this.#users.get(uid);
    if (current?.info.controllerAddress === address && current.info.userId === info.userId) {
      current.info = info;
      this.#armExpiry(current, now);
      this.#log.info(
        { uid, tokenId: id, userId: info.userId },
        'A new token of the same Boundary user: swapped in place, sessions kept.',
      );
    } else {
      const controller = this.controllerAddress();
      if (controller !== undefined && controller !== address) {
        this.#log.warn(
          { from: controller, to: address },
          'A token for another controller replaces every token held.',
        );
        for (const other of [...this.#users.keys()]) this.#remove(other, 'replaced');
      }
      this.#remove(uid, 'replaced');
      const state: UserState = {
        info,
        aliases: new Map(),
        addedAt: this.#o.clock.monotonic(),
        abort: new AbortController(),
        listToken: undefined,
        timer: undefined,
        expiryTimer: undefined,
        inFlight: undefined,
        lastStart: -Infinity,
        failures: 0,
        lastRefresh: undefined,
        lastFailure: undefined,
        listingRefused: false,
      };
      this.#armExpiry(state, now);
      this.#users.set(uid, state);
      this.#log.info(
        { uid, tokenId: id, userId: info.userId, controller: address },
        'Token added.',
      );
    }
    const listed = this.refresh(uid);
    if (options.waitForAliases !== false) await listed;
    return info;
  }

  /** Drops the user's token when it expires (re-armed when the token is swapped). */
  #armExpiry(state: UserState, now: number): void {
    state.expiryTimer?.cancel();
    state.expiryTimer = undefined;
    const { expiration, uid, tokenId: id } = state.info;
    if (expiration === undefined) return;
    state.expiryTimer = this.#o.clock.setTimeout(() => {
      if (this.#users.get(uid) !== state) return;
      this.#log.info({ uid, tokenId: id }, 'The Boundary token expired.');
      this.#remove(uid, 'expired');
    }, expiration - now);
  }

  /** The user's last refresh and last failure; both undefined for a user without a token. */
  userStatus(uid: number): UserRefreshStatus {
    const state = this.#users.get(uid);
    return { last: state?.lastRefresh, error: state?.lastFailure };
  }

  /**
   * The users whose Boundary user may not list its resolvable aliases (the controller answered
   * the listing 403): without the grant, alias names can only be tried one by one.
   */
  listingRefusedUids(): number[] {
    return [...this.#users.values()].filter((s) => s.listingRefused).map((s) => s.info.uid);
  }

  listingRefused(uid: number): boolean {
    return this.#users.get(uid)?.listingRefused === true;
  }

  /**
   * An alias found by authorizing a session by its name, for a user whose listing is refused:
   * kept with the user's aliases until the token changes or a listing succeeds (which replaces
   * them all). Returns the entry as the new snapshot has it.
   */
  learnAlias(uid: number, value: string, destinationId: string): AliasEntry | undefined {
    const state = this.#users.get(uid);
    const name = normalizeName(value);
    if (state === undefined || !isValidAliasValue(name)) return undefined;
    const id = `learned:${name}`;
    if (!state.aliases.has(id)) {
      state.aliases.set(id, { id, value: name, destinationId });
      this.#log.info(
        { uid, alias: name },
        'Learned an alias by authorizing a session by its name.',
      );
      this.#rebuild();
    }
    return this.#snapshot.lookup(name);
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

  /**
   * While some user's first listing since their token was added is under way: resolves when it
   * ends, so that a name looked up right after a hand-off is not taken for a non-alias.
   */
  firstListing(): Promise<void> | undefined {
    let first: Promise<void>[] | undefined;
    for (const state of this.#users.values()) {
      if (state.lastRefresh === undefined && state.inFlight !== undefined) {
        (first ??= []).push(state.inFlight);
      }
    }
    return first === undefined ? undefined : Promise.all(first).then(() => undefined);
  }

  /** Resolves when no refresh is running (those running now have ended). */
  async idle(): Promise<void> {
    await Promise.all([...this.#users.values()].map((s) => s.inFlight ?? Promise.resolve()));
  }

  /** A DNS name was not an alias: shortly after a token was added, look again at once. */
  noteMiss(): void {
    const now = this.#o.clock.monotonic();
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
    state.lastStart = this.#o.clock.monotonic();
    const { uid } = state.info;
    try {
      const listing = await this.#list(state);
      if (this.#users.get(uid) !== state) return;
      this.#apply(state, listing);
      state.failures = 0;
      state.listingRefused = false;
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
      if (error?.status === 403 && !state.listingRefused) {
        state.listingRefused = true;
        this.#log.warn(
          { uid, err: message },
          'The controller refused the alias listing: this user lacks the list-resolvable-aliases grant, so alias names are tried at the controller one by one.',
        );
      } else if (error?.status !== 403) {
        this.#log.warn({ uid, err: message }, 'The controller refused the alias listing.');
      }
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
