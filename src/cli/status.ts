/** `client-agent status`: whether the agent runs or is paused, the caller's token, recent problems. */
import type { Command } from 'commander';
import type { AgentStatus } from '../control/index.js';
import {
  agentClient,
  formatOf,
  keyValues,
  untilExpiry,
  withAgentOptions,
  writeItem,
  type AgentCommandOptions,
} from './agent-client.js';
import { clockOf, type CliIo } from './io.js';

export function registerStatusCommand(program: Command, io: CliIo): void {
  withAgentOptions(
    program
      .command('status')
      .description('Show whether the agent is running or paused, your token, and recent errors.'),
  ).action(async (options: AgentCommandOptions) => {
    const format = formatOf(options);
    const status = await agentClient(io, options).status();
    if (format === 'json') writeItem(io, status);
    else io.stdout.write(formatStatus(status, clockOf(io).now()));
  });
}

/** The human form of a status, as the Boundary CLI prints it; shared with pause and resume. */
export function formatStatus(status: AgentStatus, now: number): string {
  const expiry = untilExpiry(status.auth_token_expiry, now);
  const lines = [
    'Status:',
    keyValues([
      ['Address', status.boundary_addr === '' ? '(no token)' : status.boundary_addr],
      ['Auth Token Expiration', expiry === '' ? '-' : expiry],
      ['Auth Token Id', status.auth_token_id === '' ? '-' : status.auth_token_id],
      ['Status', status.status],
      ['Version', status.version],
    ]),
  ];
  for (const [title, list] of [
    ['Recent errors', status.errors],
    ['Recent warnings', status.warnings],
  ] as const) {
    if (list.length === 0) continue;
    lines.push('', `  ${title}:`, ...list.map((e) => `    ${e}`));
  }
  return `${lines.join('\n')}\n`;
}
