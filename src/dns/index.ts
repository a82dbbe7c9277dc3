/** The agent's DNS server: UDP+TCP listeners, the handler chain probe → reverse → alias → forward, the upstream pool. */
export {
  AliasPrepareError,
  DnsBindError,
  DnsOptionsError,
  RecentErrors,
  UpstreamError,
  type ErrorAudience,
  type ErrorRecorder,
  type ErrorViewer,
  type RecordedError,
} from './errors.js';
export { encodeAnswer, OUR_EDNS_UDP_SIZE } from './answer.js';
export { PROBE_NAME, ProbeHandler, type ProbeHandlerOptions } from './handlers/probe.js';
export { buildChain, servfail, type DnsAnswer, type DnsHandler, type Next } from './handler.js';
export {
  AliasHandler,
  type AliasHandlerOptions,
  type AliasPreparer,
  type PreparedAlias,
} from './handlers/alias.js';
export {
  addressOfReverseName,
  ReverseHandler,
  type ProxyAddresses,
  type ReverseHandlerOptions,
} from './handlers/reverse.js';
export {
  ForwardHandler,
  type ForwardHandlerOptions,
  type ForwardSettings,
} from './handlers/forward.js';
export {
  parseQuery,
  type DnsQuery,
  type EdnsInfo,
  type ParsedMessage,
  type QueryOrigin,
  type Transport,
} from './query.js';
export {
  DnsServer,
  type BoundAddress,
  type DnsServerOptions,
  type DnsServerStats,
} from './server.js';
export { DnsService, type DnsConfig, type DnsServiceOptions } from './service.js';
export { DEFAULT_TCP_LIMITS, type TcpLimits } from './tcp-listener.js';
export { resolveUdpIo, type UdpBatchAddon, type UdpIo } from './udp-batch.js';
