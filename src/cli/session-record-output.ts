/**
 * One session as `sessions read` and `sessions cancel` print it: its fields, the state history
 * (newest first, as Boundary keeps it) and every connection with its bytes and closed reason.
 */
import type { SessionConnectionJson } from '../boundary/index.js';
import type { AgentSessionRecord } from '../control/index.js';
import { bracketHost, hostPort } from '../lib/index.js';
import { formatBytes, keyValues, table } from './agent-client.js';

export function formatSessionRecord(record: AgentSessionRecord): string {
  const connections = record.connections ?? [];
  const up = connections.reduce((sum, c) => sum + count(c.bytes_up), 0);
  const down = connections.reduce((sum, c) => sum + count(c.bytes_down), 0);
  const lines = [
    keyValues([
      ['ID', record.id],
      // Sessions connected by target id have no alias.
      ...(record.alias === record.target_id ? [] : [['Alias', record.alias] as const]),
      ['Target ID', record.target_id ?? '-'],
      ['Status', record.status ?? '-'],
      ...(record.termination_reason === undefined
        ? []
        : [['Termination Reason', record.termination_reason] as const]),
      ['Created Time', record.created_time ?? '-'],
      ['Expiration Time', record.expiration_time ?? '-'],
      ['Endpoint', record.endpoint ?? '-'],
      ['Connections', String(connections.length)],
      ['Bytes Up/Down', `${formatBytes(up)}/${formatBytes(down)}`],
    ]),
  ];
  const states = record.states ?? [];
  if (states.length > 0) {
    lines.push(
      '',
      '  States:',
      indent(
        table(
          ['STATUS', 'START', 'END'],
          states.map((s) => [s.status ?? '-', s.start_time ?? '-', s.end_time ?? '-']),
        ),
      ),
    );
  }
  if (connections.length > 0) {
    lines.push(
      '',
      '  Connections:',
      indent(
        table(
          ['CLIENT', 'ENDPOINT', 'BYTES UP', 'BYTES DOWN', 'CLOSED REASON'],
          connections.map((c) => [
            endpointText(c.client_tcp_address, c.client_tcp_port),
            endpointText(c.endpoint_tcp_address, c.endpoint_tcp_port),
            formatBytes(count(c.bytes_up)),
            formatBytes(count(c.bytes_down)),
            c.closed_reason ?? '(open)',
          ]),
        ),
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Boundary sends int64 counters as strings. */
function count(value: SessionConnectionJson['bytes_up']): number {
  const n = Number(value ?? 0);
  return Number.isFinite(n) ? n : 0;
}

function endpointText(host: string | undefined, port: number | undefined): string {
  if (host === undefined) return '-';
  return port === undefined ? bracketHost(host) : hostPort(host, port);
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
