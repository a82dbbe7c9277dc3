/**
 * The commands whose capability has not landed yet. Each exits 1 and says so; each moves to a file
 * of its own when its work lands.
 */
import type { Command } from 'commander';
import { AgentError } from '../lib/errors.js';

interface PendingCommand {
  readonly name: string;
  readonly args?: string;
  readonly description: string;
  readonly arrivesWith: string;
}

const PENDING: readonly PendingCommand[] = [
  {
    name: 'diag',
    args: '[alias]',
    description: 'Check the machine, or walk the session checklist for an alias.',
    arrivesWith: 'the diagnostics work',
  },
];

export function registerPendingCommands(program: Command): void {
  for (const pending of PENDING) {
    const command = program
      .command(pending.name)
      .description(`${pending.description} (not available yet)`)
      .allowUnknownOption()
      .allowExcessArguments();
    if (pending.args !== undefined) command.argument(pending.args);
    command.action(() => {
      throw new AgentError('not_available', `"client-agent ${pending.name}" is not available yet`, {
        hint: `It arrives with ${pending.arrivesWith}; see the README for what works today.`,
      });
    });
  }
}
