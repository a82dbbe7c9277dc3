/** The explicit `client-agent connect` relay: one session's own local listener. */
export {
  SessionProxy,
  type ProxiedSession,
  type SessionProxyEnd,
  type SessionProxyOptions,
} from './connect-relay.js';
