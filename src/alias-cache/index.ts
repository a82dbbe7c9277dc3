/** Per-OS-user Boundary tokens and the aliases they may resolve, as one immutable snapshot. */
export {
  buildSnapshot,
  EMPTY_SNAPSHOT,
  normalizeName,
  type AliasEntry,
  type AliasSnapshot,
  type UserAlias,
} from './snapshot.js';
