/**
 * `GET /v1/users/{id}:list-resolvable-aliases` as Boundary serves it: a full listing paged
 * newest-created first, then refreshes from the last list token with only what changed (newest
 * updated first) and `removed_ids`. List tokens are opaque; the stand-in keeps their meaning
 * server-side. A token is refused (400 `invalid list token`) when unknown, older than 30 days,
 * or issued before the user's grants changed.
 */
import { randomBytes } from 'node:crypto';
import bs58 from 'bs58';
import { aliasJson } from './api-json.js';
import type { DevAlias, DevUser, Directory } from './directory.js';

export const MAX_PAGE_SIZE = 1000;
const TOKEN_LIFETIME_MS = 30 * 24 * 3600 * 1000;

interface ListingState {
  readonly userId: string;
  readonly grantsVersion: number;
  /** When the first listing of this chain started: tokens older than 30 days are refused. */
  readonly chainStart: number;
  readonly mode: 'initial' | 'refresh';
  /** Changes after this sequence value are what a refresh returns. */
  readonly sinceSeq: number;
  /** The sequence value the current listing is a snapshot of. */
  readonly untilSeq: number;
  /** Alias ids of this listing in page order, and how many were served. */
  readonly order: readonly string[];
  readonly offset: number;
  readonly estItemCount: number;
}

export type ListingResult =
  | { readonly ok: true; readonly body: Record<string, unknown> }
  | { readonly ok: false; readonly message: string };

export class AliasListings {
  readonly #directory: Directory;
  readonly #states = new Map<string, ListingState>();

  constructor(directory: Directory) {
    this.#directory = directory;
  }

  list(user: DevUser, listToken: string | undefined, pageSize: number): ListingResult {
    const size = pageSize <= 0 || pageSize > MAX_PAGE_SIZE ? MAX_PAGE_SIZE : pageSize;
    const now = this.#directory.clock.now();
    let state: ListingState;
    if (listToken === undefined) {
      if (user.grants.size === 0) {
        return {
          ok: true,
          body: { response_type: 'complete', sort_by: 'created_time', sort_dir: 'desc' },
        };
      }
      state = this.#startInitial(user, now);
    } else {
      const previous = this.#states.get(listToken);
      if (previous === undefined) return { ok: false, message: 'list token was invalid' };
      if (previous.userId !== user.id)
        return { ok: false, message: 'list token was issued for another resource' };
      if (now - previous.chainStart > TOKEN_LIFETIME_MS)
        return { ok: false, message: 'list token was expired' };
      if (previous.grantsVersion !== user.grantsVersion) {
        return { ok: false, message: 'grants have changed since the list token was issued' };
      }
      state =
        previous.offset >= previous.order.length ? this.#startRefresh(user, previous) : previous;
    }
    return { ok: true, body: this.#page(user, state, size) };
  }

  #startInitial(user: DevUser, now: number): ListingState {
    const visible = [...this.#directory.aliases.values()].filter((a) =>
      this.#directory.visibleTo(user, a),
    );
    visible.sort(byNewest((a) => a.createdSeq));
    return {
      userId: user.id,
      grantsVersion: user.grantsVersion,
      chainStart: now,
      mode: 'initial',
      sinceSeq: 0,
      untilSeq: this.#directory.seq,
      order: visible.map((a) => a.id),
      offset: 0,
      estItemCount: visible.length,
    };
  }

  #startRefresh(user: DevUser, previous: ListingState): ListingState {
    const since = previous.untilSeq;
    const changed = [...this.#directory.aliases.values()].filter((a) => a.updatedSeq > since);
    changed.sort(byNewest((a) => a.updatedSeq));
    return {
      ...previous,
      grantsVersion: user.grantsVersion,
      mode: 'refresh',
      sinceSeq: since,
      untilSeq: this.#directory.seq,
      order: changed.map((a) => a.id),
      offset: 0,
      estItemCount: [...this.#directory.aliases.values()].filter((a) =>
        this.#directory.visibleTo(user, a),
      ).length,
    };
  }

  #page(user: DevUser, state: ListingState, size: number): Record<string, unknown> {
    const directory = this.#directory;
    const items: Record<string, unknown>[] = [];
    const removed: string[] = [];
    if (state.mode === 'refresh' && state.offset === 0) {
      for (const d of directory.deletions) {
        if (d.seq > state.sinceSeq && d.seq <= state.untilSeq) removed.push(d.id);
      }
    }
    let offset = state.offset;
    while (offset < state.order.length && items.length < size) {
      const alias = directory.aliases.get(state.order[offset++] ?? '');
      if (alias === undefined) continue;
      if (directory.visibleTo(user, alias)) {
        items.push(aliasJson(alias));
      } else if (state.mode === 'refresh') {
        // Its destination was cleared, or the target went away: gone for this user.
        removed.push(alias.id);
      }
    }
    const next: ListingState = { ...state, offset };
    const token = bs58.encode(randomBytes(24));
    this.#states.set(token, next);
    const body: Record<string, unknown> = {
      response_type: offset >= state.order.length ? 'complete' : 'delta',
      list_token: token,
      sort_by: state.mode === 'initial' ? 'created_time' : 'updated_time',
      sort_dir: 'desc',
      est_item_count: state.estItemCount,
    };
    if (items.length > 0) body.items = items;
    if (removed.length > 0) body.removed_ids = removed;
    return body;
  }
}

function byNewest(key: (a: DevAlias) => number): (a: DevAlias, b: DevAlias) => number {
  return (a, b) => key(b) - key(a) || (a.id < b.id ? 1 : -1);
}
