/**
 * HCL text → plain JSON values, through HashiCorp's own HCL engine (compiled to WASM). Syntax
 * errors come back as problems with the line and column the engine reported.
 */
import { parse } from '@cdktn/hcl2json';
import { ConfigError, type ConfigProblem } from '../lib/index.js';

// The engine is given this name so its diagnostics can be found in its error text reliably,
// whatever characters the real file name has.
const SENTINEL = 'client-agent-input.hcl';
const RANGE = String.raw`(\d+),(\d+)(?:-(?:\d+,)?\d+)?`;
const DIAGNOSTIC = new RegExp(`${SENTINEL.replace(/[.-]/g, '\\$&')}:${RANGE}: `, 'g');
const MENTION = new RegExp(`${SENTINEL.replace(/[.-]/g, '\\$&')}:${RANGE}`, 'g');

/**
 * Parses HCL; `file` is only used in error messages. Throws ConfigError(config.syntax) listing
 * every diagnostic, in file order.
 */
export async function parseHcl(text: string, file: string): Promise<Record<string, unknown>> {
  let result: unknown;
  try {
    result = await parse(SENTINEL, text);
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new ConfigError('config.syntax', file, diagnosticsOf(message, file), {
      hint: 'Fix the syntax at the place named; the file is HCL, like "alias_refresh_interval = \\"60s\\"".',
      cause,
    });
  }
  if (result === null || typeof result !== 'object' || Array.isArray(result)) {
    throw new ConfigError('config.syntax', file, [{ message: 'the file is not an HCL body' }]);
  }
  return result as Record<string, unknown>;
}

function diagnosticsOf(engineMessage: string, file: string): ConfigProblem[] {
  const body = engineMessage.replace(/^parse config: \[/, '').replace(/\]\s*$/, '');
  const starts = [...body.matchAll(DIAGNOSTIC)];
  if (starts.length === 0) return [{ message: body.trim() }];
  const problems = starts.map((m, i) => {
    const end = starts[i + 1]?.index ?? body.length;
    const text = body
      .slice(m.index + m[0].length, end)
      .trim()
      .replace(MENTION, (_all, line: string, col: string) => `${file}:${line}:${col}`);
    return { message: text, line: Number(m[1]), column: Number(m[2]) };
  });
  return problems.sort((a, b) => a.line - b.line || a.column - b.column);
}
