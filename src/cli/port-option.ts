/** A port given on the command line: 1–65535, or 0 for any free port. */
import { parsePort } from '../config/fields.js';
import { UsageError } from '../lib/errors.js';

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
