/** The operating system behind one interface per concern; Linux and macOS implementations. */
export type { PeerCredentials, TcpEndpoint } from './types.js';
export {
  LinuxPeerCredentials,
  type LinuxPeerCredentialsOptions,
} from './linux/peer-credentials.js';
export { LocalAddresses, machineAddresses, type LocalAddressesOptions } from './local-addresses.js';
export {
  EMPTY,
  type Empty,
  type InterfaceAddress,
  type InterfaceAddresses,
  type NoticeResult,
  type OsDnsConfig,
  type OsResolver,
  type Platform,
  type PortOwner,
  type PortOwners,
  type PortSocket,
  type RecoveryReport,
  type ServiceManager,
  type UserNotice,
  type UserNotifier,
} from './platform.js';
export {
  isPlatformState,
  NO_CHANGES,
  nothingToUndo,
  type AddedAddress,
  type PlatformState,
  type ResolverState,
  type StateListener,
} from './platform-state.js';
export { createPlatform, type CreatePlatformOptions } from './create-platform.js';
export {
  ExecFileRunner,
  prefixedRunner,
  type CommandResult,
  type CommandRunner,
  type RunOptions,
  commandFailed,
} from './command-runner.js';
export { PlatformError, formatCommand } from './errors.js';
export { loadNetLink } from './linux/net-link-addon.js';
export { loadUdpBatch, type UdpBatchNative } from './linux/udp-batch-addon.js';
export { rootFs, type PlatformFs, type RootFsOptions } from './root-fs.js';
export { dnsAddressesFor } from './prefix-overlap.js';
export {
  prepareSystemProfile,
  type SystemProfile,
  type SystemProfileOptions,
} from './system-profile.js';
export { LAUNCHD_LABEL, launchdPlist, systemdUnit, SYSTEMD_UNIT } from './service/service-files.js';
export { createDarwinPlatform } from './darwin/darwin-platform.js';
export { DarwinPeerCredentials } from './darwin/darwin-peer-credentials.js';
export { prefixConflict } from './linux/linux-addresses.js';
export { addressMatches, describeOwners } from './port-owner-text.js';
export { LinuxNotifier } from './linux/desktop-notifier.js';
export { parseResolvectlLists, ResolvedBackend } from './linux/resolved-backend.js';
export { loadSockDiag } from './linux/sock-diag.js';
