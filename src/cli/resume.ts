/** `client-agent resume`: the agent takes over DNS again after a pause. */
import type { Command } from 'commander';
import { registerStateCommand } from './state-command.js';
import type { CliIo } from './io.js';

export function registerResumeCommand(program: Command, io: CliIo): void {
  registerStateCommand(program, io, {
    name: 'resume',
    description: 'Take over DNS again after a pause.',
    done: 'The agent is running: alias names resolve again.',
    call: (client) => client.resume(),
  });
}
