/** `client-agent install` / `uninstall`: the systemd unit or launchd daemon, written and (un)loaded. */
import type { Command } from 'commander';
import { DEFAULT_PATHS, platformName } from '../config/index.js';
import { systemClock, AgentError, createLogger } from '../lib/index.js';
import { createPlatform, ExecFileRunner, rootFs } from '../platform/index.js';
import { ensureRoot } from './elevate.js';
import type { CliIo } from './io.js';

interface ServiceOptions {
  readonly binary: string;
  readonly config?: string;
  readonly dryRun?: boolean;
}

export function registerServiceCommands(program: Command, io: CliIo): void {
  for (const verb of ['install', 'uninstall'] as const) {
    program
      .command(verb)
      .description(
        verb === 'install'
          ? 'Install and start the agent as a systemd (Linux) or launchd (macOS) service.'
          : 'Stop and remove the service; the previous resolvers come back.',
      )
      .option(
        '--binary <path>',
        'the client-agent executable the service runs',
        '/usr/local/bin/client-agent',
      )
      .option(
        '--config <file>',
        'the configuration file the service uses (default: the platform default)',
      )
      .option('--dry-run', 'print what would be written and run, change nothing')
      .action(async (options: ServiceOptions) => {
        const platform = platformName(io.platform);
        const logger = createLogger({ level: 'warn', file: null, toStdout: false });
        const service = createPlatform({
          platform,
          runner: new ExecFileRunner(),
          fs: rootFs(),
          clock: systemClock,
          log: logger.log,
          service: {
            binary: options.binary,
            configFile: options.config ?? DEFAULT_PATHS[platform].configFile,
          },
        }).service;
        const commands =
          verb === 'install' ? service.installCommands() : service.uninstallCommands();
        if (options.dryRun === true) {
          io.stdout.write(
            [
              `${verb === 'install' ? 'Would write' : 'Would remove'} ${service.definitionPath}, then run:`,
              ...commands.map((c) => `  ${c.join(' ')}`),
              '',
            ].join('\n'),
          );
          return;
        }
        const asRoot = await ensureRoot(
          io,
          new AgentError(
            'service.not_root',
            `client-agent ${verb} needs root: it changes ${service.definitionPath} and the service manager`,
            {
              hint: `Re-run it with sudo: sudo client-agent ${verb} (add --dry-run to see what it would do).`,
            },
          ),
        );
        if (!asRoot) return;
        await (verb === 'install' ? service.install() : service.uninstall());
        io.stderr.write(
          verb === 'install'
            ? `Installed and started: ${service.definitionPath}\n`
            : `Removed ${service.definitionPath}; the previous resolvers are back.\n`,
        );
      });
  }
}
