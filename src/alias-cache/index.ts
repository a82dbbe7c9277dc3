/** Per-OS-user Boundary tokens and the aliases they may resolve, as one immutable snapshot. */
export {
  AliasCache,
  type AliasCacheOptions,
  type AliasCacheStatus,
  type AliasSourceClient,
  type ErrorRecord,
  type RefreshRecord,
  type AddTokenOptions,
  type TokenInfo,
  type TokenRemovalReason,
  type UserRefreshStatus,
} from './alias-cache.js';
export { isValidAliasValue } from './alias-value.js';
export {
  buildSnapshot,
  EMPTY_SNAPSHOT,
  normalizeName,
  type AliasEntry,
  type AliasSnapshot,
  type UserAlias,
} from './snapshot.js';
