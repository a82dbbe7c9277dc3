/** The operating system behind one interface per concern; Linux and macOS implementations. */
export type { PeerCredentials, TcpEndpoint } from './types.js';
export {
  LinuxPeerCredentials,
  type LinuxPeerCredentialsOptions,
} from './linux/peer-credentials.js';
export { canonicalIp } from './linux/proc-net-tcp.js';
