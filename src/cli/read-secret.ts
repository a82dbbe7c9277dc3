/**
 * Reads a secret (password, token) from the command's input: prompted without echo on a
 * terminal, otherwise the first line (or all) of what is piped in.
 */
import { UsageError } from '../lib/index.js';
import type { CliInput, CliIo } from './io.js';

const MAX_INPUT_BYTES = 64 * 1024;

export interface ReadSecretOptions {
  /** What to ask on a terminal, e.g. "Password: ". */
  readonly prompt: string;
  /** Piped input: `line` keeps the first line, `all` everything; both trimmed. */
  readonly piped: 'line' | 'all';
  /** What was expected, for the error when there is nothing to read. */
  readonly what: string;
  readonly hint: string;
}

export async function readSecret(io: CliIo, options: ReadSecretOptions): Promise<string> {
  const input = io.stdin;
  if (input === undefined) throw new UsageError(`no ${options.what} given`, { hint: options.hint });
  const text =
    input.isTTY === true && input.setRawMode !== undefined
      ? await promptHidden(io, input, options.prompt)
      : await readPiped(input, options.piped);
  const secret = text.trim();
  if (secret === '') throw new UsageError(`no ${options.what} given`, { hint: options.hint });
  return secret;
}

async function readPiped(input: CliInput, piped: 'line' | 'all'): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    chunks.push(buf);
    size += buf.length;
    if (size > MAX_INPUT_BYTES) throw new UsageError('the input is too long');
    if (piped === 'line' && buf.includes(0x0a)) break;
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return piped === 'line' ? (text.split(/\r?\n/)[0] ?? '') : text;
}

function promptHidden(io: CliIo, input: CliInput, prompt: string): Promise<string> {
  io.stderr.write(prompt);
  input.setRawMode?.(true);
  input.resume();
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (err?: Error): void => {
      input.off('data', onData);
      input.setRawMode?.(false);
      input.pause();
      io.stderr.write('\n');
      if (err === undefined) resolve(text);
      else reject(err);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const ch of chunk.toString()) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          finish();
          return;
        }
        if (ch === '\u0003') {
          finish(new UsageError('interrupted'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
        else text += ch;
        if (text.length > MAX_INPUT_BYTES) {
          finish(new UsageError('the input is too long'));
          return;
        }
      }
    };
    input.on('data', onData);
  });
}
