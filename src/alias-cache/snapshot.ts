/**
 * The immutable view of every alias the agent may answer, swapped whole on each refresh. A DNS
 * lookup is one Map.get on the normalized name.
 */
import { normalizeName } from '../lib/index.js';

export interface AliasEntry {
  /** The alias value, lower case, without a trailing dot: `db.prod.corp`. */
  readonly value: string;
  /** The alias id, `alt_…`. */
  readonly id: string;
  /** The target the alias points at, `ttcp_…`. */
  readonly destinationId: string;
  /** The local OS users whose Boundary token lists this alias, ascending. */
  readonly uids: readonly number[];
}

export interface AliasSnapshot {
  readonly size: number;
  /** Case-insensitive, with or without the trailing dot. */
  lookup(name: string): AliasEntry | undefined;
  entries(): IterableIterator<AliasEntry>;
}

/** One alias as one user's token sees it. */
export interface UserAlias {
  readonly id: string;
  readonly value: string;
  readonly destinationId: string;
}

export { normalizeName };

class MapSnapshot implements AliasSnapshot {
  readonly #byName: ReadonlyMap<string, AliasEntry>;

  constructor(byName: ReadonlyMap<string, AliasEntry>) {
    this.#byName = byName;
  }

  get size(): number {
    return this.#byName.size;
  }

  lookup(name: string): AliasEntry | undefined {
    return this.#byName.get(normalizeName(name));
  }

  entries(): IterableIterator<AliasEntry> {
    return this.#byName.values();
  }
}

export const EMPTY_SNAPSHOT: AliasSnapshot = new MapSnapshot(new Map());

/**
 * Merges each user's aliases into one snapshot. Values are unique per controller, so the same
 * value seen by several users is one entry listing all of them.
 */
export function buildSnapshot(perUid: ReadonlyMap<number, Iterable<UserAlias>>): AliasSnapshot {
  const byName = new Map<
    string,
    { id: string; destinationId: string; value: string; uids: number[] }
  >();
  const uids = [...perUid.keys()].sort((a, b) => a - b);
  for (const uid of uids) {
    for (const alias of perUid.get(uid) ?? []) {
      const value = normalizeName(alias.value);
      const existing = byName.get(value);
      if (existing === undefined) {
        byName.set(value, { id: alias.id, destinationId: alias.destinationId, value, uids: [uid] });
      } else if (existing.uids.at(-1) !== uid) {
        existing.uids.push(uid);
      }
    }
  }
  for (const entry of byName.values()) {
    Object.freeze(entry.uids);
    Object.freeze(entry);
  }
  return new MapSnapshot(byName);
}
