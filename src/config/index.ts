/** The agent's configuration: HCL file → validated, frozen AgentConfig. */
export {
  CONFIG_FIELDS,
  CONFIG_KEYS,
  DEFAULT_LISTEN_PORT,
  DNS_MODES,
  DEFAULT_V4_PREFIX,
  DEFAULT_V6_PREFIX,
  FIELDS,
  LISTEN_PORT_ENV,
  parsePort,
  V6_OFF,
  showValue,
  type AgentConfig,
  type ConfigField,
  type DnsMode,
} from './fields.js';
export {
  loadConfig,
  parseConfig,
  type LoadedConfig,
  type LoadOptions,
  type ValueSource,
} from './load.js';
export { planReload, RELOADABLE_FIELDS, type ReloadPlan } from './reload.js';
export type { ReloadTarget } from './fields.js';
export { DEFAULT_PATHS, platformName, type DefaultPaths, type PlatformName } from './paths.js';
export { formatDuration, parseDuration } from './duration.js';
export { formatUpstream, parseUpstream, DNS_PORT, type UpstreamServer } from './upstream.js';
export { type IpPrefix, parseV4Prefix, parseV6Prefix } from './prefix.js';
