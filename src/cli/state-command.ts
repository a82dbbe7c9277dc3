/** What pause and resume share: one POST, then the new status (JSON) or a sentence and the status. */
import type { Command } from 'commander';
import type { AgentStatus, ControlClient } from '../control/index.js';
import {
  agentClient,
  formatOf,
  withAgentOptions,
  writeItem,
  type AgentCommandOptions,
} from './agent-client.js';
import { clockOf, type CliIo } from './io.js';
import { formatStatus } from './status.js';

export interface StateCommand {
  readonly name: string;
  readonly description: string;
  /** Printed (table format) when the agent answered. */
  readonly done: string;
  readonly call: (client: ControlClient) => Promise<AgentStatus>;
}

export function registerStateCommand(program: Command, io: CliIo, spec: StateCommand): void {
  withAgentOptions(program.command(spec.name).description(spec.description)).action(
    async (options: AgentCommandOptions) => {
      const format = formatOf(options);
      const status = await spec.call(agentClient(io, options));
      if (format === 'json') {
        writeItem(io, status);
        return;
      }
      io.stdout.write(`${spec.done}\n\n${formatStatus(status, clockOf(io).now())}`);
    },
  );
}
