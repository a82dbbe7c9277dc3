/**
 * The proxy, in two parts: the transparent path (alias addresses, listeners, the connection
 * check, sessions) and the explicit `connect` relay. Both relay bytes with relay.ts and reach
 * the worker through the seams in types.ts.
 */
export * from './transparent/index.js';
export * from './connect/index.js';
export type {
  PreparedConnection,
  SessionAuthorizer,
  WorkerConnection,
  WorkerConnector,
} from './types.js';
export { DEFAULT_HALF_CLOSE_MS } from './relay.js';
