/** Option values shared by several commands, checked the same way everywhere. */
import { parsePort } from '../config/index.js';
import { UsageError, LOG_LEVELS, type LogLevel } from '../lib/index.js';

/** A port given on the command line: 1–65535, or 0 for any free port. */
export function portOption(flag: string, value: string): number {
  if (value === '0') return 0;
  try {
    return parsePort(value);
  } catch {
    throw new UsageError(
      `${flag} "${value}" must be a port number from 1 to 65535 (0: any free port)`,
    );
  }
}

/** `--log-level`: one of the levels, any case. */
export function logLevelOption(value: string): LogLevel {
  const level = LOG_LEVELS.find((l) => l === value.toLowerCase());
  if (level === undefined)
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  return level;
}
