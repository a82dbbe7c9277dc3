/** `client-agent daemon [--config F] [--cleanup]`: the agent as root, in the foreground. */
import type { Command } from 'commander';
import { TLS_UNVERIFIED_NOTICE } from '../boundary/index.js';
import { loadConfig } from '../config/index.js';
import { runUntilStopped, cleanup, startSystemDaemon } from '../daemon/index.js';
import { systemClock, AgentError, createLogger, packageVersion } from '../lib/index.js';
import { ensureRoot } from './elevate.js';
import type { CliIo } from './io.js';

interface DaemonOptions {
  readonly config?: string;
  readonly cleanup?: boolean;
}

export function registerDaemonCommand(program: Command, io: CliIo): void {
  program
    .command('daemon')
    .description(
      'Run the agent (as root): DNS on port 53, proxy, control API, system resolver take-over.',
    )
    .option('--config <file>', 'the HCL configuration file')
    .option(
      '--cleanup',
      'only undo what a previous run left on this machine (for a service stop hook)',
    )
    .action(async (options: DaemonOptions) => {
      const asRoot = await ensureRoot(
        io,
        new AgentError(
          'daemon.not_root',
          'client-agent daemon needs root: it binds port 53, adds addresses and changes the system resolver',
          {
            hint: 'Run it with sudo (or install it as a service with "sudo client-agent install"); "client-agent dev" runs the demo without root.',
          },
        ),
      );
      if (!asRoot) return;
      const { config } = await loadConfig({
        path: options.config,
        env: io.env,
        cwd: io.cwd,
        platform: io.platform,
      });
      const logger = createLogger({
        level: config.logLevel,
        file: config.logFile,
        toStdout: config.logToStdout,
      });
      const log = logger.log.child({ component: 'daemon' });
      try {
        if (options.cleanup === true) {
          await cleanup({ config, clock: systemClock, log: logger.log });
          io.stderr.write(
            'Cleaned up: the resolver and addresses of any previous run are restored.\n',
          );
          return;
        }
        const daemon = await startSystemDaemon({
          config,
          clock: systemClock,
          log: logger.log,
          logger,
          version: packageVersion(),
        });
        if (config.controllerTlsInsecure) {
          io.stderr.write(`warning: ${TLS_UNVERIFIED_NOTICE}; set controller_ca_file instead.\n`);
        }
        io.stderr.write(
          `client-agent daemon running: DNS on ${daemon.agent.dnsAddresses.join(', ')}, control API on port ${daemon.control.port}.\n`,
        );
        const outcome = await runUntilStopped({
          events: process,
          log,
          stop: () => daemon.close(),
          reload: () => {
            logger.reopen();
            void loadConfig({
              path: options.config,
              env: io.env,
              cwd: io.cwd,
              platform: io.platform,
            })
              .then((next) => {
                daemon.reload(next.config);
              })
              .catch((err: unknown) => {
                log.error(
                  { err: (err as Error).message },
                  'The configuration could not be reloaded; keeping the running one.',
                );
              });
          },
        });
        if (outcome.reason === 'failure') {
          throw new AgentError(
            'daemon.failed',
            `the daemon stopped after a failure: ${outcome.error?.message ?? 'unknown'}`,
            {
              hint: `The previous resolvers were restored. See the log (${config.logFile}); "sudo client-agent daemon --cleanup" undoes anything left.`,
            },
          );
        }
        io.stderr.write('client-agent daemon stopped; the previous resolvers are back.\n');
      } catch (err) {
        log.error({ err: (err as Error).message }, 'The daemon failed.');
        throw err;
      } finally {
        await logger.close();
      }
    });
}
