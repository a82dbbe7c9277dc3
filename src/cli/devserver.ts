/** `client-agent devserver`: runs the stand-in Boundary controller alone, until Ctrl-C. */
import path from 'node:path';
import type { Command } from 'commander';
import { startDevserver } from '../devserver/index.js';
import { systemClock, createLogger, LOG_LEVELS, type LogLevel } from '../lib/index.js';
import type { CliIo } from './io.js';
import { logLevelOption, portOption } from './option-values.js';

interface DevserverCliOptions {
  readonly data: string;
  readonly host: string;
  readonly port: string;
  readonly workerPort: string;
  readonly logLevel: string;
}

export const DEFAULT_DATA_FILE = path.resolve(import.meta.dirname, '../../config/devserver.json');

export function registerDevserverCommand(program: Command, io: CliIo): void {
  program
    .command('devserver')
    .description(
      'Run the stand-in Boundary controller and worker (for development and tests) until Ctrl-C.',
    )
    .option('--data <file>', 'users, targets and aliases (JSON)', DEFAULT_DATA_FILE)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', '9200')
    .option('--worker-port <port>', 'port of the stand-in worker (0: any free port)', '9202')
    .option('--log-level <level>', `one of ${LOG_LEVELS.join(', ')}`, 'info')
    .action(async (options: DevserverCliOptions) => {
      const level = logLevelOption(options.logLevel);
      const port = portOption('--port', options.port);
      const workerPort = portOption('--worker-port', options.workerPort);
      await run(io, { ...options, port, workerPort, level });
    });
}

async function run(
  io: CliIo,
  options: Omit<DevserverCliOptions, 'port' | 'workerPort' | 'logLevel'> & {
    port: number;
    workerPort: number;
    level: LogLevel;
  },
): Promise<void> {
  const logger = createLogger({
    level: options.level,
    file: null,
    toStdout: true,
    stdout: io.stdout,
  });
  const server = await startDevserver({
    dataFile: path.resolve(io.cwd, options.data),
    host: options.host,
    port: options.port,
    workerPort: options.workerPort,
    clock: systemClock,
    log: logger.log,
  });
  const address = server.controller.address;
  const users = [...server.directory.users.values()];
  const aliases = [...server.directory.aliases.values()];
  const first = users[0];
  io.stderr.write(
    [
      `Stand-in Boundary controller listening on ${address}`,
      `  auth method: ${server.directory.authMethodId}`,
      `Stand-in Boundary worker listening on ${server.worker.address}`,
      `  users: ${users.map((u) => `${u.loginName} (password "${u.password}")`).join(', ')}`,
      `  targets: ${[...server.directory.targets.values()].map((t) => `${t.name} ${t.address}:${t.port}${t.demo === undefined ? '' : ` (built-in ${t.demo})`}`).join(', ')}`,
      `  aliases: ${aliases.map((a) => `${a.value} -> ${a.destinationId ?? '(none)'}`).join(', ')}`,
      ...(first === undefined
        ? []
        : [
            'Try:',
            `  curl -s -X POST ${address}/v1/auth-methods/${server.directory.authMethodId}:authenticate \\`,
            `    -d '{"command":"login","attributes":{"login_name":"${first.loginName}","password":"${first.password}"}}'`,
          ]),
      `Stop with Ctrl-C. To test outages: kill -USR1 ${String(process.pid)} takes the controller down (the worker stays), kill -USR2 ${String(process.pid)} brings it back.`,
      '',
    ].join('\n'),
  );
  const down = () => {
    void server.controller.close().then(() => io.stderr.write('Stand-in controller down.\n'));
  };
  const up = () => {
    server.controller.start().then(
      () => io.stderr.write('Stand-in controller back.\n'),
      (err: unknown) => io.stderr.write(`Stand-in controller cannot come back: ${String(err)}\n`),
    );
  };
  process.on('SIGUSR1', down);
  process.on('SIGUSR2', up);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.off('SIGUSR1', down);
  process.off('SIGUSR2', up);
  await server.close();
  io.stderr.write('Stand-in Boundary stopped.\n');
  await logger.close();
}
