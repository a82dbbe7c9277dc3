/** The explicit `client-agent connect` relay: one session's own local listener. */
export {
  ConnectRelay,
  type RelayedSession,
  type ConnectRelayEnd,
  type ConnectRelayOptions,
} from './connect-relay.js';
