/** Talking to Boundary: the controller API client, authorization tokens, session credentials. */
export type * from './api-types.js';
export {
  decodeAuthorizationToken,
  encodeAuthorizationToken,
  type ScopeInfo,
  type SessionAuthorizationData,
  type WorkerInfo,
} from './authz-token.js';
export { normalizeControllerAddress } from './controller-address.js';
export {
  ControllerPool,
  plainHttpNotice,
  TLS_UNVERIFIED_LOG,
  TLS_UNVERIFIED_NOTICE,
  type ControllerPoolOptions,
} from './controller-pool.js';
export {
  ControllerClient,
  isTokenShape,
  PlainHttpError,
  sendsInClear,
  tokenId,
  type AliasListing,
  type ControllerClientOptions,
} from './controller-client.js';
export {
  AuthorizationTokenError,
  ControllerError,
  INVALID_LIST_TOKEN_KIND,
  type ControllerErrorCode,
} from './errors.js';
export {
  ed25519KeyFromGo,
  sessionCredentials,
  type SessionCredentials,
} from './session-credentials.js';
export {
  cancelAtController,
  cancelAtWorkerOrController,
  sessionIsOver,
  type CancelPath,
  type CancelWay,
  type CancelWays,
  type ControllerSessionCalls,
} from './session-cancel.js';
export {
  newTofuToken,
  WorkerDialer,
  WorkerStream,
  type WorkerDialerOptions,
} from './worker-dialer.js';
export { closeError, endsSession, WorkerError, type WorkerErrorKind } from './worker-errors.js';
export {
  DEFAULT_WORKER_PORT,
  type HandshakeResult,
  CLOSE,
  CLOSE_REASON,
  decodeClientHandshake,
  encodeHandshakeResult,
  HandshakeCommand,
  TOFU_TOKEN_LENGTH,
  type ClientHandshake,
  MAX_RECEIVED_MESSAGE_BYTES,
  PROXY_ALPN,
  PROXY_PATH,
  PROXY_SUBPROTOCOL,
  decodeHandshakeResult,
  encodeClientHandshake,
} from './worker-protocol.js';
export { rawChunks, WebSocketStream, STREAM_HIGH_WATER_MARK } from './websocket-stream.js';
export { connectTls, upgrade } from './worker-connect.js';
