/** What a command may touch of its process: streams, environment and working directory. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly platform: string;
  /** Where tokens and passwords are read from; absent: nothing to read (as in most tests). */
  readonly stdin?: CliInput | undefined;
  /** Milliseconds since the epoch (default Date.now): durations such as "expires in 6h". */
  readonly now?: (() => number) | undefined;
}

/** A readable stream that may be a terminal (process.stdin). */
export type CliInput = NodeJS.ReadableStream & {
  readonly isTTY?: boolean | undefined;
  setRawMode?: ((mode: boolean) => unknown) | undefined;
};

export type OutputFormat = 'table' | 'json';

export interface FormatOptions {
  readonly format?: string;
  readonly json?: boolean;
}

export function outputFormat(options: FormatOptions): OutputFormat {
  return options.json === true || options.format === 'json' ? 'json' : 'table';
}

export function writeJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
