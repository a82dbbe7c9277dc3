/**
 * What every module shares: typed errors, the injectable clock, the logger, the error answer of
 * our HTTP APIs and their route table, and small helpers (names, durations, rate limits).
 */
export {
  type ApiRequestField,
  ApiError,
  internalError,
  type ApiErrorKind,
  forbidden,
  invalidArgument,
  notFound,
} from './api-error.js';
export { type Clock, systemClock, ManualClock, type TimerHandle } from './clock.js';
export { normalizeName } from './dns-name.js';
export {
  AgentError,
  type AgentErrorOptions,
  UsageError,
  ConfigError,
  type ConfigProblem,
  UnsupportedPlatformError,
  asError,
  type ErrorCode,
} from './errors.js';
export { route, RouteTable, type Route } from './http-routes.js';
export {
  createLogger,
  LOG_LEVELS,
  type LogLevel,
  scrubTokens,
  type AgentLogger,
} from './logger.js';
export { RateLimiter, type RateLimit } from './rate-limiter.js';
export { roughDuration } from './rough-duration.js';
export { closest } from './suggest.js';
export { packageVersion } from './version.js';
export { WakeDetector } from './wake-detector.js';
export { timeoutSignal, withTimeout } from './timeout-signal.js';
export { parseHostPort, hostPort, bracketHost } from './host-port.js';
export { compressedIp, canonicalIp } from './ip-address.js';
