/**
 * `client-agent connect`: one Boundary session on a local listener, like `boundary connect`, for
 * clients that cannot use the machine's resolver (containers, VMs) or want an explicit port.
 * The session comes from the running agent (authorized with the caller's own token, by
 * `-target-id`, `-alias` or a bare alias) or from `-authz-token`. Every accepted connection is
 * relayed through the worker with this command's tofu token. It ends with the session (expiry,
 * no connections left, the worker refusing it), on Ctrl-C / SIGTERM, or when the `-exec`
 * program exits; a session it stops with time left is canceled.
 */
import net from 'node:net';
import type { Command } from 'commander';
import { WorkerDialer } from '../boundary/index.js';
import { asError, UsageError, createLogger } from '../lib/index.js';
import { ConnectRelay, type ConnectRelayEnd } from '../proxy/index.js';
import {
  agentClient,
  formatOf,
  withAgentOptions,
  type AgentCommandOptions,
} from './agent-client.js';
import { ConnectOutput } from './connect-output.js';
import {
  cancelSession,
  sessionFromAgent,
  sessionFromToken,
  type ConnectSession,
} from './connect-session.js';
import { runProgram, type RunningProgram } from './exec-program.js';
import { clockOf, type CliIo } from './io.js';
import { portOption } from './option-values.js';
import { readSecret } from './read-secret.js';
import { DEBUG_ENV, ExitStatus } from './report-error.js';

interface ConnectOptions extends AgentCommandOptions {
  readonly targetId?: string;
  readonly alias?: string;
  readonly authzToken?: string;
  readonly listenAddr: string;
  readonly listenPort?: string;
  readonly exec?: string;
  readonly showCredentials?: boolean;
}

/** What to connect to and how, checked before anything is authorized. */
interface ConnectPlan {
  readonly target: { readonly kind: 'agent' | 'token'; readonly value: string };
  readonly listenAddr: string;
  /** undefined: the target's default client port when free, else a free port. */
  readonly listenPort: number | undefined;
  readonly exec: { readonly program: string; readonly args: readonly string[] } | undefined;
}

const REASONS: Record<Exclude<ConnectRelayEnd['reason'], 'refused'>, string> = {
  expired: 'Session has expired',
  exhausted: 'No connections left in session',
  stopped: 'Received shutdown signal',
};

export function registerConnectCommand(program: Command, io: CliIo): void {
  withAgentOptions(
    program
      .command('connect')
      .description(
        'Open a local listener for one Boundary session, like "boundary connect" (for containers, VMs, scripts).',
      )
      .argument('[alias]', 'the alias to connect to; after --, the arguments of the -exec program')
      .allowExcessArguments()
      .option('--target-id <id>', 'the target to connect to, ttcp_…')
      .option('--alias <alias>', 'the alias to connect to')
      .option(
        '--authz-token <token>',
        'a token from "boundary targets authorize-session" ("-": read it, or that command\'s JSON, from stdin)',
      )
      .option('--listen-addr <ip>', 'the address to listen on', '127.0.0.1')
      .option(
        '--listen-port <port>',
        "the port to listen on (default: the target's default client port when free, else any free port)",
      )
      .option(
        '--exec <program>',
        'run a program once listening; {{boundary.addr}}, {{boundary.ip}}, {{boundary.port}} in its arguments (after --) are filled in',
      )
      .option('--show-credentials', 'show brokered credentials in full'),
  ).action(async (_alias: unknown, options: ConnectOptions, command: Command) => {
    const plan = planOf(command, options);
    const format = formatOf(options);
    const clock = clockOf(io);
    const debug = io.env[DEBUG_ENV] !== undefined;
    const logger = createLogger({
      level: debug ? 'debug' : 'error',
      file: null,
      toStdout: debug,
      stdout: io.stderr,
    });
    const dialer = new WorkerDialer({ clock, log: logger.log, cancelTimeoutMs: 15_000 });
    const output = new ConnectOutput(io, format);
    const proxy = new ConnectRelay({
      host: plan.listenAddr,
      worker: dialer,
      clock,
      log: logger.log,
      onConnection: (left) => {
        if (plan.exec === undefined) output.connectionsLeft(left);
      },
      onConnectionError: (err) => {
        output.connectionFailed(err);
      },
    });
    try {
      // An explicit port is bound first: a busy one fails before a session exists.
      let bound = plan.listenPort === undefined ? undefined : await proxy.start(plan.listenPort);
      const session = await obtainSession(io, options, plan, clock);
      try {
        bound ??= await proxy.start(session.data.defaultClientPort, { orFreePort: true });
      } catch (err) {
        const warning = await cancelSession(session, dialer, clockOf(io));
        if (warning !== undefined) output.warning(warning);
        throw err;
      }
      output.listening({
        address: bound.address,
        port: bound.port,
        data: session.data,
        credentials: session.credentials,
        showCredentials: options.showCredentials === true,
      });
      await relayUntilEnd(io, plan, session, proxy, dialer, output, {
        ip: bound.address,
        port: bound.port,
      });
    } finally {
      await proxy.close();
      await logger.close();
    }
  });
}

async function relayUntilEnd(
  io: CliIo,
  plan: ConnectPlan,
  session: ConnectSession,
  proxy: ConnectRelay,
  dialer: WorkerDialer,
  output: ConnectOutput,
  at: { ip: string; port: number },
): Promise<void> {
  let running: RunningProgram | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    proxy.stop();
    running?.signal(signal);
  };
  const onInt = () => {
    onSignal('SIGINT');
  };
  const onTerm = () => {
    onSignal('SIGTERM');
  };
  io.signals?.on('SIGINT', onInt);
  io.signals?.on('SIGTERM', onTerm);
  try {
    const ended = proxy.run(session);
    let status: number | undefined;
    let failure: Error | undefined;
    if (plan.exec !== undefined) {
      running = runProgram(io, plan.exec.program, plan.exec.args, at);
      status = await running.done.catch((err: unknown) => {
        failure = asError(err);
        return undefined;
      });
      // The program is done (or could not start): so is the session.
      proxy.stop();
    }
    const end = await ended;
    if (end.reason === 'stopped' && (session.data.expiration?.getTime() ?? 0) > clockOf(io).now()) {
      const warning = await cancelSession(session, dialer, clockOf(io));
      if (warning !== undefined) output.warning(warning);
    }
    if (failure !== undefined) throw failure;
    if (status !== undefined) {
      if (end.reason === 'refused') output.connectionFailed(end.error);
      if (status !== 0) throw new ExitStatus(status);
      return;
    }
    if (end.reason === 'refused') throw end.error;
    output.terminated(REASONS[end.reason]);
  } finally {
    io.signals?.off('SIGINT', onInt);
    io.signals?.off('SIGTERM', onTerm);
  }
}

async function obtainSession(
  io: CliIo,
  options: ConnectOptions,
  plan: ConnectPlan,
  clock: ReturnType<typeof clockOf>,
): Promise<ConnectSession> {
  if (plan.target.kind === 'agent') {
    return sessionFromAgent(agentClient(io, options), plan.target.value, clock);
  }
  const text =
    plan.target.value === '-'
      ? await readSecret(io, {
          prompt: 'Authorization token: ',
          piped: 'all',
          what: 'authorization token',
          hint: 'Pipe in the token (or the JSON) of "boundary targets authorize-session".',
        })
      : plan.target.value;
  return sessionFromToken(text, clock);
}

/** Checks the command line; every mistake is a usage error (exit 2). */
function planOf(command: Command, options: ConnectOptions): ConnectPlan {
  const operands = command.args;
  const passthrough = argsAfterDoubleDash(command);
  const before = operands.slice(0, operands.length - passthrough.length);
  if (before.length > 1) {
    throw new UsageError(`connect takes one alias, not "${before.join(' ')}"`, {
      hint: 'Arguments for the -exec program go after --.',
    });
  }
  const given: [string, ConnectPlan['target']][] = [];
  if (options.targetId !== undefined) {
    if (!options.targetId.includes('_')) {
      throw new UsageError(`-target-id "${options.targetId}" is not a target id (ttcp_…)`, {
        hint: 'For an alias use -alias, or give it as the first argument.',
      });
    }
    given.push(['-target-id', { kind: 'agent', value: options.targetId }]);
  }
  for (const [flag, alias] of [
    ['-alias', options.alias],
    ['an alias argument', before[0]],
  ] as const) {
    if (alias === undefined) continue;
    if (alias.includes('_') || alias === '') {
      throw new UsageError(`"${alias}" is not an alias`, {
        hint: 'Aliases are host names (db.corp); for a target id use -target-id.',
      });
    }
    given.push([flag, { kind: 'agent', value: alias }]);
  }
  if (options.authzToken !== undefined) {
    given.push(['-authz-token', { kind: 'token', value: options.authzToken }]);
  }
  const [first, second] = given;
  if (first === undefined) {
    throw new UsageError('say what to connect to', {
      hint: 'client-agent connect db.corp | -target-id ttcp_… | -authz-token TOKEN',
    });
  }
  if (second !== undefined) {
    throw new UsageError(`give only one of ${given.map(([flag]) => flag).join(', ')}`);
  }
  if (net.isIP(options.listenAddr) === 0) {
    throw new UsageError(`-listen-addr "${options.listenAddr}" is not an IP address`, {
      hint: 'For example 127.0.0.1, 0.0.0.0 (every IPv4 address, e.g. for containers) or ::1.',
    });
  }
  if (passthrough.length > 0 && options.exec === undefined) {
    throw new UsageError('arguments after -- are for a program: give it with -exec');
  }
  return {
    target: first[1],
    listenAddr: options.listenAddr,
    listenPort:
      options.listenPort === undefined ? undefined : portOption('-listen-port', options.listenPort),
    exec: options.exec === undefined ? undefined : { program: options.exec, args: passthrough },
  };
}

/** The words after the first `--` of the command line (commander keeps them as operands). */
function argsAfterDoubleDash(command: Command): string[] {
  let root: Command = command;
  while (root.parent !== null) root = root.parent;
  const raw = (root as unknown as { rawArgs?: unknown }).rawArgs;
  if (!Array.isArray(raw)) return [];
  const at = raw.indexOf('--');
  return at < 0 ? [] : raw.slice(at + 1).map(String);
}
