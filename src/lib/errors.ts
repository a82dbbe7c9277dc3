/**
 * Typed errors with stable codes. Every error a user can hit carries a message that says what
 * happened and, where there is one, a hint that says how to fix it. Errors are logged or printed
 * once, where they are handled.
 */
export interface AgentErrorOptions {
  readonly hint?: string | undefined;
  readonly cause?: unknown;
}

export class AgentError extends Error {
  readonly code: string;
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: AgentErrorOptions = {}) {
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

export type ConfigErrorCode =
  | 'config.not_found'
  | 'config.unreadable'
  | 'config.syntax'
  | 'config.invalid'
  | 'config.environment';

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
