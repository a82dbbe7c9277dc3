/** The `client-agent` command line: builds the commander program and maps outcomes to exit codes. */
import { Command } from 'commander';
import { packageVersion } from '../lib/index.js';
import { normalizeArgv } from './argv.js';
import { registerAddTokenCommand } from './add-token.js';
import { registerConfigCommand } from './config-validate.js';
import { registerConnectCommand } from './connect.js';
import { registerDaemonCommand } from './daemon.js';
import { registerDevCommand } from './dev.js';
import { registerDevserverCommand } from './devserver.js';
import { registerDiagCommand } from './diag.js';
import { registerServiceCommands } from './service.js';
import type { CliIo } from './io.js';
import { registerLoginCommand } from './login.js';
import { registerPauseCommand } from './pause.js';
import { EXIT_OK, reportError } from './report-error.js';
import { registerResumeCommand } from './resume.js';
import { registerSessionsCommand } from './sessions.js';
import { registerStatusCommand } from './status.js';

export function buildProgram(io: CliIo): Command {
  const program = new Command('client-agent')
    .description(
      'Reach Boundary targets by their alias names: a local DNS resolver and transparent proxy.',
    )
    .version(packageVersion(), '-v, --version', 'print the version')
    .helpCommand(true)
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });
  registerStatusCommand(program, io);
  registerPauseCommand(program, io);
  registerResumeCommand(program, io);
  registerSessionsCommand(program, io);
  registerConnectCommand(program, io);
  registerLoginCommand(program, io);
  registerAddTokenCommand(program, io);
  registerConfigCommand(program, io);
  registerDevserverCommand(program, io);
  registerDevCommand(program, io);
  registerDaemonCommand(program, io);
  registerServiceCommands(program, io);
  registerDiagCommand(program, io);
  program.exitOverride();
  for (const command of program.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
  }
  return program;
}

/** Runs one command line (without the node and script arguments) and returns the exit status. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    await buildProgram(io).parseAsync(normalizeArgv(argv), { from: 'user' });
    return EXIT_OK;
  } catch (err) {
    return reportError(err, io);
  }
}
