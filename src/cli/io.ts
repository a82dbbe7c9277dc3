/** What a command may touch of its process: streams, environment and working directory. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly platform: string;
}

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
