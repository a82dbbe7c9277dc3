/** `client-agent dev` (`npm start`): the demo — stand-in Boundary and the agent, no root needed. */
import path from 'node:path';
import type { Command } from 'commander';
import { DNS_MODES, parseUpstream, type UpstreamServer } from '../config/index.js';
import { devStateDir, startDev, runUntilStopped } from '../daemon/index.js';
import {
  systemClock,
  AgentError,
  UsageError,
  createLogger,
  LOG_LEVELS,
  packageVersion,
} from '../lib/index.js';
import { DEFAULT_DATA_FILE } from './devserver.js';
import type { CliIo } from './io.js';
import { logLevelOption, portOption } from './option-values.js';

interface DevCliOptions {
  readonly data: string;
  readonly controllerPort: string;
  readonly workerPort: string;
  readonly dnsPort: string;
  readonly controlPort: string;
  readonly upstream: string[];
  readonly logLevel: string;
  readonly stateDir?: string;
  readonly system?: boolean;
  readonly dnsMode: string;
  readonly interface?: string;
}

export function registerDevCommand(program: Command, io: CliIo): void {
  program
    .command('dev')
    .description(
      'Run the demo: a stand-in Boundary and the agent, without root and without changing this machine.',
    )
    .option('--data <file>', 'the stand-in users, targets and aliases (JSON)', DEFAULT_DATA_FILE)
    .option('--controller-port <port>', 'stand-in controller port', '9200')
    .option('--worker-port <port>', 'stand-in worker port', '9202')
    .option('--dns-port <port>', 'the agent DNS port on 127.0.0.1', '1053')
    .option('--control-port <port>', 'the agent control API port', '9300')
    .option(
      '--upstream <ip:port>',
      "resolver for other names (repeatable; default: this machine's own)",
      (v: string, all: string[]) => [...all, v],
      [],
    )
    .option('--log-level <level>', `one of ${LOG_LEVELS.join(', ')}`, 'info')
    .option(
      '--state-dir <dir>',
      'where the demo keeps its state and log (default: per-user data directory)',
    )
    .option(
      '--system',
      'as root: the full agent (addresses, port 53, resolver take-over) against the stand-in',
    )
    .option(
      '--dns-mode <mode>',
      `with --system and systemd-resolved: ${DNS_MODES.join(', ')} (as dns_mode)`,
      'auto',
    )
    .option(
      '--interface <name>',
      'with --system: the interface for the agent (as interface_to_use)',
    )
    .action(async (options: DevCliOptions) => {
      if (options.system === true && process.getuid?.() !== 0) {
        throw new AgentError(
          'dev.not_root',
          '--system needs root: it adds addresses, binds port 53 and takes the system resolver over',
          {
            hint: 'Run it with sudo, or leave --system out for the demo without root.',
          },
        );
      }
      const level = logLevelOption(options.logLevel);
      const dnsMode = DNS_MODES.find((m) => m === options.dnsMode);
      if (dnsMode === undefined) {
        throw new UsageError(
          `--dns-mode ${options.dnsMode}: must be one of ${DNS_MODES.join(', ')}`,
        );
      }
      const upstreams: UpstreamServer[] = options.upstream.map((text) => {
        const server = parseUpstream(text);
        if (typeof server === 'string') throw new UsageError(`--upstream ${text}: ${server}`);
        return server;
      });
      const stateDir = path.resolve(io.cwd, options.stateDir ?? devStateDir());
      const logger = createLogger({ level, file: path.join(stateDir, 'dev.log'), toStdout: false });
      let run;
      try {
        run = await startDev({
          dataFile: path.resolve(io.cwd, options.data),
          controllerPort: portOption('--controller-port', options.controllerPort),
          workerPort: portOption('--worker-port', options.workerPort),
          dnsPort: portOption('--dns-port', options.dnsPort),
          controlPort: portOption('--control-port', options.controlPort),
          upstreams,
          logLevel: level,
          stateDir,
          clock: systemClock,
          log: logger.log,
          version: packageVersion(),
          system: options.system === true,
          dnsMode,
          interfaceToUse: options.interface,
          sudoUid: io.env.SUDO_UID === undefined ? undefined : Number(io.env.SUDO_UID),
        });
      } catch (err) {
        await logger.close();
        throw err;
      }
      const dns = run.agent.dnsAddresses[0] ?? '';
      const dnsHost = dns.slice(0, dns.lastIndexOf(':'));
      const dnsPort = dns.slice(dns.lastIndexOf(':') + 1);
      const aliases = [...run.devserver.directory.aliases.values()].map((a) => {
        const target =
          a.destinationId === undefined
            ? undefined
            : run.devserver.directory.targets.get(a.destinationId);
        const port = target === undefined ? 0 : target.defaultClientPort || target.port;
        return { value: a.value, port };
      });
      const echo = aliases.find((a) => a.value.startsWith('echo.'));
      const upstreamText = run.agent.api.details(run.uid).upstreams.join(', ');
      io.stderr.write(
        [
          options.system === true
            ? 'client-agent dev --system is running: this machine resolves through the agent until Ctrl-C.'
            : 'client-agent dev is running: no root, no change to this machine.',
          `  Boundary (stand-in): controller ${run.devserver.controller.address}, worker ${run.devserver.worker.address}; users admin/password and user/password`,
          `  Logged in as "admin"; the token belongs to OS user ${run.uid}.`,
          `  DNS: ${dns} (aliases answered with addresses in ${run.config.v4Prefix.cidr}; other names go to ${upstreamText === '' ? 'no resolver: none found' : upstreamText})`,
          `  Control API: http://127.0.0.1:${run.control.port}`,
          `  Aliases: ${aliases.map((a) => `${a.value} (port ${a.port})`).join(', ')}`,
          ...(run.removedTargets.length > 0
            ? [`  Not offered (nothing listens there): ${run.removedTargets.join(', ')}`]
            : []),
          'Try:',
          ...(options.system === true
            ? [
                `  dig ${echo?.value ?? 'echo.boundary.dev'}`,
                ...(echo === undefined
                  ? []
                  : [`  echo hello | nc -q 1 ${echo.value} ${echo.port}`]),
              ]
            : [
                `  dig @${dnsHost} -p ${dnsPort} ${echo?.value ?? 'echo.boundary.dev'}`,
                ...(echo === undefined
                  ? []
                  : [
                      `  echo hello | nc -q 1 $(dig +short @${dnsHost} -p ${dnsPort} ${echo.value}) ${echo.port}`,
                    ]),
              ]),
          `  npx client-agent status${run.control.port === 9300 ? '' : ` -client-agent-port ${run.control.port}`}`,
          `  npx client-agent sessions${run.control.port === 9300 ? '' : ` -client-agent-port ${run.control.port}`}`,
          `Log: ${run.config.logFile}. Stop with Ctrl-C.`,
          '',
        ].join('\n'),
      );
      const outcome = await runUntilStopped({
        events: process,
        log: logger.log,
        stop: () => run.close(),
      });
      await logger.close();
      if (outcome.reason === 'failure') {
        throw new AgentError(
          'dev.failed',
          `client-agent dev stopped after a failure: ${outcome.error?.message ?? 'unknown'}`,
          {
            hint: `See the log: ${run.config.logFile}.`,
          },
        );
      }
      io.stderr.write('client-agent dev stopped.\n');
    });
}
