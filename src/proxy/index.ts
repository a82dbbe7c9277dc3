/** The proxy side: stable addresses per alias, sessions per (OS user, alias), listeners and relay. */
export {
  AddressAllocator,
  AddressPoolFullError,
  allocatorPreparer,
  cryptoRandom,
  SharedAddressAllocator,
  type AllocatorOptions,
  type AllocatorPreparer,
  type AssignedAddresses,
  type IpAllocator,
  type SavedAddresses,
} from './allocator.js';
export {
  ControllerAuthorizer,
  NoTokenError,
  type ControllerAuthorizerOptions,
} from './authorizer.js';
export { ConnectionHandler, type ConnectionHandlerOptions } from './connection-handler.js';
export { ProxyListeners, type ProxyListenersOptions } from './listeners.js';
export { ProxyService, TargetUnreadableError, type ProxyServiceOptions } from './proxy-service.js';
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
  type CancelPath,
  type OwnedSession,
  type ProxySession,
  type SessionEndReason,
  type SessionManagerOptions,
} from './session-manager.js';
export {
  SessionProxy,
  type ProxiedSession,
  type SessionProxyEnd,
  type SessionProxyOptions,
} from './session-proxy.js';
export type { SessionAuthorizer, WorkerConnection, WorkerConnector } from './types.js';
export { UnlistedAliases, type UnlistedAliasesOptions } from './unlisted-aliases.js';
