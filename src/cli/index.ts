/** The command line: `run` parses argv and runs one command; bin.ts is the executable. */
export { DEFAULT_DATA_FILE } from './devserver.js';
export type { CliIo } from './io.js';
export { run } from './main.js';
