/**
 * `client-agent diag [ALIAS]`: without an alias, the machine checks (agent, DNS addresses,
 * system resolver, probe name directly and through the OS resolver, port 53, prefixes,
 * upstreams); with one, the session checklist for the caller. Prints ✓/!/✗/- lines with what was
 * seen and the fix, or `--json` for a support ticket; exits 0 only when nothing failed.
 */
import type { Command } from 'commander';
import { isValidAliasValue } from '../alias-cache/index.js';
import { loadConfig, parseConfig, platformName } from '../config/index.js';
import { ControlError, type ControlClient } from '../control/index.js';
import {
  ALIAS_STEP_TITLES,
  buildReport,
  factsFromConfig,
  factsFromDetails,
  formatReport,
  nodeDnsProbe,
  runMachineChecks,
  withResolverStep,
  type DiagStep,
  type DnsProbe,
  type MachineFacts,
} from '../diag/index.js';
import { systemClock, UsageError, createLogger, packageVersion } from '../lib/index.js';
import {
  createPlatform,
  ExecFileRunner,
  rootFs,
  type Platform,
  dnsAddressesFor,
} from '../platform/index.js';
import {
  agentClient,
  formatOf,
  withAgentOptions,
  type AgentCommandOptions,
} from './agent-client.js';
import { clockOf, writeJson, type CliIo } from './io.js';
import { EXIT_ERROR, ExitStatus } from './report-error.js';

interface DiagOptions extends AgentCommandOptions {
  readonly config?: string;
}

/** What diag reads the machine with; tests give their own. */
export interface DiagSeams {
  readonly platform?: Pick<Platform, 'name' | 'addresses' | 'resolver' | 'ports'>;
  readonly dns?: DnsProbe;
}

/** The agent may ask the controller and the worker several times: give it time. */
const DIAG_TIMEOUT_MS = 120_000;

export function registerDiagCommand(program: Command, io: CliIo, seams: DiagSeams = {}): void {
  withAgentOptions(
    program
      .command('diag')
      .description(
        'Check this machine (no alias), or walk the session checklist for an alias; exit 0 only when every check passed.',
      )
      .argument('[alias]', 'an alias to check, e.g. db.corp')
      .option(
        '--config <file>',
        'the configuration file the daemon uses (read when the agent is not running)',
      ),
  ).action(async (alias: string | undefined, options: DiagOptions) => {
    const format = formatOf(options);
    const client = agentClient(io, options, DIAG_TIMEOUT_MS);
    const dns = seams.dns ?? nodeDnsProbe({ clock: clockOf(io) });
    const now = clockOf(io).now();
    const report =
      alias === undefined
        ? buildReport(
            'machine',
            await machineSteps(io, options, client, seams.platform ?? realPlatform(io), dns),
            { version: packageVersion(), now },
          )
        : buildReport('alias', await aliasSteps(alias, client, dns), {
            version: packageVersion(),
            now,
            alias,
          });
    if (format === 'json') writeJson(io, report);
    else io.stdout.write(formatReport(report));
    if (!report.ok) throw new ExitStatus(EXIT_ERROR);
  });
}

async function machineSteps(
  io: CliIo,
  options: DiagOptions,
  client: ControlClient,
  platform: Pick<Platform, 'name' | 'addresses' | 'resolver' | 'ports'>,
  dns: DnsProbe,
): Promise<DiagStep[]> {
  let facts: MachineFacts;
  try {
    facts = factsFromDetails(await client.details());
  } catch (err) {
    if (!isAbsent(err)) throw err;
    const config = await loadConfig({
      path: options.config,
      env: io.env,
      cwd: io.cwd,
      platform: io.platform,
    }).catch(async (error: unknown) => {
      if (options.config !== undefined) throw error;
      // An unreadable default file: check with the defaults rather than not at all.
      return parseConfig('', null, { platform: io.platform, env: {} });
    });
    const own = dnsAddressesFor(config.config.v4Prefix, config.config.v6Prefix);
    const systemUpstreams = await platform.resolver.upstreams(own).catch(() => []);
    facts = factsFromConfig(config.config, systemUpstreams, {
      message: err.message,
      hint: err.hint,
    });
  }
  return runMachineChecks({ facts, platform, dns });
}

async function aliasSteps(
  alias: string,
  client: ControlClient,
  dns: DnsProbe,
): Promise<DiagStep[]> {
  if (!isValidAliasValue(alias.replace(/\.$/, ''))) throw notAnAlias(alias);
  try {
    return await withResolverStep(await client.diagnoseAlias(alias), dns);
  } catch (err) {
    if (err instanceof ControlError && err.status === 400) throw notAnAlias(alias);
    if (!isAbsent(err)) throw err;
    const first: DiagStep = {
      id: 'agent',
      title: ALIAS_STEP_TITLES.agent,
      status: 'fail',
      seen: err.message,
      ...(err.hint === undefined ? {} : { fix: err.hint }),
    };
    const rest = Object.entries(ALIAS_STEP_TITLES)
      .filter(([id]) => id !== 'agent')
      .map(([id, title]): DiagStep => ({
        id,
        title,
        status: 'skip',
        seen: `not checked: needs "${first.title}"`,
      }));
    return [first, ...rest];
  }
}

function notAnAlias(alias: string): UsageError {
  return new UsageError(`"${alias}" is not an alias name`, {
    hint: 'Give the alias as a DNS name, e.g. "client-agent diag db.corp".',
  });
}

/** The agent could not be asked at all: not running, or not answering. */
function isAbsent(err: unknown): err is ControlError {
  return (
    err instanceof ControlError &&
    (err.code === 'control.not_running' || err.code === 'control.unreachable')
  );
}

function realPlatform(io: CliIo): Platform {
  return createPlatform({
    platform: platformName(io.platform),
    runner: new ExecFileRunner(),
    fs: rootFs(),
    clock: systemClock,
    log: createLogger({ level: 'error', file: null, toStdout: false }).log,
  });
}
