/**
 * Typed errors with stable codes. Every error a user can hit carries a message that says what
 * happened and, where there is one, a hint that says how to fix it. Errors are logged or printed
 * once, where they are handled.
 */

/**
 * Every code an AgentError can carry, so that tsc checks each one where it is thrown. The values
 * are stable: the control API, `status` and scripts show and match them.
 */
export const ERROR_CODES = [
  'usage',
  'agent.paused',
  'boundary.address',
  'boundary.authorization_token',
  'boundary.ca_file',
  'boundary.plain_http',
  'boundary.token_format',
  'config.not_found',
  'config.unreadable',
  'config.syntax',
  'config.invalid',
  'config.environment',
  'connect.exec',
  'connect.expired',
  'connect.forbidden',
  'connect.not_found',
  'connect.paused',
  'connect.unauthenticated',
  'control.not_running',
  'control.unreachable',
  'control.api',
  'controller.api',
  'controller.unreachable',
  'controller.timeout',
  'controller.bad_response',
  'controller.aborted',
  'daemon.failed',
  'daemon.not_root',
  'dev.failed',
  'dev.not_root',
  'dev.prefix',
  'devserver.listen',
  'dns.alias_prepare',
  'dns.bind',
  'dns.options',
  'dns.upstream',
  'elevation.failed',
  'log.unwritable',
  'platform.command_failed',
  'platform.no_default_route',
  'platform.no_interface',
  'platform.no_network_service',
  'platform.notify_failed',
  'platform.prefix_conflict',
  'platform.resolved_loopback',
  'platform.tunnel_interface',
  'platform.unsupported',
  'proxy.address_conflict',
  'proxy.address_pool_full',
  'proxy.connection',
  'proxy.listen',
  'proxy.no_owner',
  'proxy.no_token',
  'proxy.rate_limited',
  'proxy.session_not_found',
  'proxy.target_unreadable',
  'service.not_root',
  'worker.unreachable',
  'worker.unauthorized',
  'worker.untrusted',
  'worker.session_in_use',
  'worker.connection_limit',
  'worker.session_not_pending',
  'worker.target_unreachable',
  'worker.timeout',
  'worker.protocol',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface AgentErrorOptions {
  readonly hint?: string | undefined;
  readonly cause?: unknown;
}

export class AgentError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: AgentErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
  }
}

/** One thing wrong with a configuration file, located as precisely as we know. */
export interface ConfigProblem {
  readonly message: string;
  /** The HCL key the problem is about, when it is about one. */
  readonly key?: string | undefined;
  /** 1-based line and column in the file, when known. */
  readonly line?: number | undefined;
  readonly column?: number | undefined;
}

export type ConfigErrorCode = Extract<ErrorCode, `config.${string}`>;

/** A configuration that cannot be used. Lists every problem found, not only the first. */
export class ConfigError extends AgentError {
  readonly file: string | null;
  readonly problems: readonly ConfigProblem[];

  constructor(
    code: ConfigErrorCode,
    file: string | null,
    problems: readonly ConfigProblem[],
    options: AgentErrorOptions = {},
  ) {
    super(code, formatProblems(file, problems), options);
    this.file = file;
    this.problems = problems;
  }
}

/** `file:line:col: message`, one line per problem; the location is left out where unknown. */
export function formatProblems(file: string | null, problems: readonly ConfigProblem[]): string {
  return problems
    .map((p) => {
      const where = [file ?? undefined, p.line, p.line === undefined ? undefined : p.column]
        .filter((part) => part !== undefined)
        .join(':');
      return where === '' ? p.message : `${where}: ${p.message}`;
    })
    .join('\n');
}

/** The command line was used wrongly (exit status 2). */
export class UsageError extends AgentError {
  constructor(message: string, options: AgentErrorOptions = {}) {
    super('usage', message, options);
  }
}

/** The operating system is not one the agent supports. */
export class UnsupportedPlatformError extends AgentError {
  constructor(platform: string) {
    super('platform.unsupported', `client-agent does not support the ${platform} platform`, {
      hint: 'client-agent runs on Linux and macOS.',
    });
  }
}

/** A thrown or rejected value as an Error: JavaScript lets anything be thrown. */
export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
