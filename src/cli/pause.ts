/** `client-agent pause`: the machine gets its previous DNS back and sessions end. */
import type { Command } from 'commander';
import { registerStateCommand } from './state-command.js';
import type { CliIo } from './io.js';

export function registerPauseCommand(program: Command, io: CliIo): void {
  registerStateCommand(program, io, {
    name: 'pause',
    description: 'Give the machine its previous DNS back and end your sessions.',
    done: 'The agent is paused: DNS is back to what it was, and sessions have ended.',
    call: (client) => client.pause(),
  });
}
