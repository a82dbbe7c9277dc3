/**
 * The transparent path: stable addresses per alias, the alias made reachable before its DNS
 * answer, listeners on those addresses, the check of each connection's OS user, sessions per
 * (OS user, alias) and their worker connections.
 */
export {
  AddressAllocator,
  AddressPoolFullError,
  createAllocator,
  cryptoRandom,
  SharedAddressAllocator,
  type AllocatorOptions,
  type AssignedAddresses,
  type IpAllocator,
  type SavedAddresses,
} from './allocator.js';
export {
  ControllerAuthorizer,
  NoTokenError,
  type ControllerAuthorizerOptions,
} from './authorizer.js';
export {
  ConnectionHandler,
  type ConnectionHandlerOptions,
  REFILL_DELAY_MS,
} from './connection-handler.js';
export { AliasListeners, type AliasListenersOptions } from './alias-listeners.js';
export {
  AliasReadiness,
  TargetUnreadableError,
  type AliasReadinessOptions,
} from './alias-readiness.js';
export {
  ASKER_LOOKUP_MS,
  queryAsker,
  type QueryAsker,
  type QueryAskerOptions,
  type QueryOrigin,
} from './query-asker.js';
export {
  listenPort,
  SessionManager,
  targetListenPort,
  SessionNotFoundError,
  type OwnedSession,
  type HeldSession,
  type SessionEndReason,
  type SessionManagerOptions,
} from './session-manager.js';
export {
  createTransparentProxy,
  type TransparentProxy,
  type TransparentProxyOptions,
} from './transparent-proxy.js';
export { UnlistedAliases, type UnlistedAliasesOptions } from './unlisted-aliases.js';
