/**
 * What the commands that talk to the running agent share: the port and output-format flags,
 * the client, Boundary-style JSON output and a plain aligned table.
 */
import type { Command } from 'commander';
import { ControlClient } from '../control/index.js';
import { UsageError, roughDuration } from '../lib/index.js';
import { outputFormat, writeJson, type CliIo, type OutputFormat } from './io.js';

export interface AgentCommandOptions {
  readonly clientAgentPort?: string;
  readonly format?: string;
  readonly json?: boolean;
}

/** Adds `-client-agent-port`, `-format` and `--json` (Boundary's flag names). */
export function withAgentOptions(command: Command): Command {
  return command
    .option(
      '--client-agent-port <port>',
      'the agent control API port (default: $BOUNDARY_CLIENT_AGENT_LISTENING_PORT or 9300)',
    )
    .option('--format <format>', 'output format: table or json', 'table')
    .option('--json', 'same as -format=json');
}

export function formatOf(options: AgentCommandOptions): OutputFormat {
  if (options.format !== undefined && !['table', 'json'].includes(options.format)) {
    throw new UsageError(`-format "${options.format}" must be table or json`);
  }
  return outputFormat(options);
}

export function agentClient(
  io: CliIo,
  options: AgentCommandOptions,
  timeoutMs?: number,
): ControlClient {
  return new ControlClient({
    port: portOption(options.clientAgentPort),
    env: io.env,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
}

function portOption(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw.trim())) {
    throw new UsageError(`-client-agent-port "${raw}" must be a port number from 1 to 65535`);
  }
  return Number(raw);
}

/** Boundary Desktop's shape for one resource. */
export function writeItem(io: CliIo, item: unknown): void {
  writeJson(io, { status_code: 200, item });
}

/** Boundary Desktop's shape for a list. */
export function writeItems(io: CliIo, items: readonly unknown[]): void {
  writeJson(io, { status_code: 200, items });
}

/** `Key:  value` lines with the values aligned, indented by two spaces. */
export function keyValues(rows: readonly (readonly [string, string])[], indent = '  '): string {
  const width = Math.max(0, ...rows.map(([k]) => k.length + 1));
  return rows.map(([k, v]) => `${indent}${`${k}:`.padEnd(width)}  ${v}`.trimEnd()).join('\n');
}

/** Columns aligned with two spaces between them, a header line first. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** "6h59m", "3m10s", "expired 5m ago": how far `iso` is from now. */
export function untilExpiry(iso: string | null | undefined, now: number): string {
  if (iso === null || iso === undefined || iso === '') return '';
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return '';
  const ms = at - now;
  return ms <= 0 ? `expired ${roughDuration(-ms)} ago` : roughDuration(ms);
}

/** `512B`, `1.5KiB`, `3.2MiB`. */
export function formatBytes(n: number | undefined): string {
  const value = n ?? 0;
  if (value < 1024) return `${value}B`;
  if (value < 1024 * 1024) return `${(value / 1024).toFixed(1)}KiB`;
  return `${(value / 1024 / 1024).toFixed(1)}MiB`;
}
