/**
 * The daemon's part of `client-agent diag ALIAS`: the session checklist for one OS user, with
 * that user's own token. It refreshes the user's aliases, has the agent's session manager
 * authorize one probe session (within the user's rate limit, in the user's ledger), opens one
 * connection through the worker to the target and closes it, then cancels that session; nothing
 * else changes. The OS resolver step runs in the caller's process (the CLI).
 */
import type { Logger } from 'pino';
import type { AliasEntry, TokenInfo } from '../alias-cache/index.js';
import {
  type SessionAuthorizationData,
  type ControllerClient,
  ControllerError,
  WorkerError,
} from '../boundary/index.js';
import { type Clock, withTimeout, roughDuration, closest } from '../lib/index.js';
import type {
  HeldSession,
  SessionManager,
  WorkerConnection,
  WorkerConnector,
} from '../proxy/index.js';
import {
  failed,
  passed,
  runSteps,
  type DiagStep,
  type StepOutcome,
  type StepSpec,
} from './report.js';

/** What the checklist reads from the running agent. */
export interface AliasCheckSource {
  readonly clock: Clock;
  readonly log: Logger;
  state(): { readonly status: 'running' | 'paused'; readonly reason?: string | undefined };
  tokenFor(uid: number): TokenInfo | undefined;
  controller(address: string): Pick<ControllerClient, 'readAuthToken'>;
  /** Refreshes the user's aliases from the controller now (never rejects). */
  refreshAliases(uid: number): Promise<void>;
  /** The user's last alias refresh and last failure, as the cache recorded them. */
  aliasRefresh(uid: number): {
    readonly last?: { readonly time: number; readonly kind: 'full' | 'delta' } | undefined;
    readonly error?: { readonly time: number; readonly error: unknown } | undefined;
  };
  /** The aliases `uid` may resolve now. */
  aliasesOf(uid: number): readonly AliasEntry[];
  /** The alias's stable proxy addresses (what its DNS answers carry). */
  proxyAddresses(alias: string): { readonly v4: string; readonly v6?: string | undefined };
  readonly worker: WorkerConnector;
  /** The agent's sessions: the user's current one, and the probe diag authorizes and ends. */
  readonly sessions: Pick<SessionManager, 'current' | 'authorizeProbe' | 'endProbe'>;
}

export interface AliasCheckOptions {
  /** How long to wait for the worker to report a failure reaching the target; default 1 s. */
  readonly settleMs?: number;
  /** Bound of each controller or worker request; default 15 s. */
  readonly requestTimeoutMs?: number;
}

interface Ctx {
  readonly src: AliasCheckSource;
  readonly uid: number;
  readonly alias: string;
  readonly settleMs: number;
  readonly timeoutMs: number;
  token?: TokenInfo;
  controllerError?: unknown;
  readMs?: number;
  entry?: AliasEntry;
  probe?: HeldSession;
  data?: SessionAuthorizationData;
  stream?: WorkerConnection;
}

export const ALIAS_STEP_TITLES = {
  agent: 'Agent running and not paused',
  token: 'A Boundary token for this OS user',
  controller: 'Controller reachable',
  alias: 'Alias among your resolvable aliases',
  resolver: 'OS resolver answers with the proxy address',
  authorize: 'authorize-session allowed',
  worker: 'Worker accepts the session',
  target: 'Target reachable through the worker',
  session: 'Connection limit and expiration',
} as const;

const step = (
  id: keyof typeof ALIAS_STEP_TITLES,
  needs: string[],
  check: (c: Ctx) => Promise<StepOutcome> | StepOutcome,
): StepSpec<Ctx> => ({ id, title: ALIAS_STEP_TITLES[id], needs, check });

const STEPS: readonly StepSpec<Ctx>[] = [
  step('agent', [], agentState),
  step('token', ['agent'], tokenHeld),
  step('controller', ['token'], controllerReachable),
  step('alias', ['controller'], aliasListed),
  step('authorize', ['alias'], authorize),
  step('worker', ['authorize'], workerAccepts),
  step('target', ['worker'], targetReachable),
  step('session', ['target'], sessionFigures),
];

const LOGIN_FIX =
  'Log in again: "client-agent login" (or "boundary authenticate", then "boundary config get-token | client-agent add-token -addr ADDRESS").';

/** Runs the checklist; the session it authorized is canceled before it returns. */
export async function checkAlias(
  src: AliasCheckSource,
  uid: number,
  alias: string,
  options: AliasCheckOptions = {},
): Promise<{ steps: DiagStep[]; entry: AliasEntry | undefined }> {
  const ctx: Ctx = {
    src,
    uid,
    alias: alias.toLowerCase().replace(/\.$/, ''),
    settleMs: options.settleMs ?? 1_000,
    timeoutMs: options.requestTimeoutMs ?? 15_000,
  };
  try {
    return { steps: await runSteps(STEPS, ctx), entry: ctx.entry };
  } finally {
    ctx.stream?.destroy();
    await endProbe(ctx);
  }
}

function agentState({ src }: Ctx): StepOutcome {
  const state = src.state();
  if (state.status === 'paused') {
    return failed(
      `paused${state.reason === undefined || state.reason === 'user' ? ' by a user' : `: ${state.reason}`}; aliases are not answered`,
      'Run "client-agent resume".',
    );
  }
  return passed('running');
}

async function tokenHeld(ctx: Ctx): Promise<StepOutcome> {
  const { src, uid } = ctx;
  const token = src.tokenFor(uid);
  if (token === undefined) {
    return failed(
      `OS user ${uid} has given the agent no Boundary token (or it expired and was dropped)`,
      LOGIN_FIX,
    );
  }
  ctx.token = token;
  const now = src.clock.now();
  const expiry =
    token.expiration === undefined
      ? 'expiry unknown'
      : `${token.expiration > now ? 'expires in' : 'expired'} ${roughDuration(Math.abs(token.expiration - now))}${token.expiration > now ? '' : ' ago'} (${new Date(token.expiration).toISOString()})`;
  const details = {
    token_id: token.tokenId,
    controller: token.controllerAddress,
    ...(token.expiration === undefined
      ? {}
      : { expiration: new Date(token.expiration).toISOString() }),
  };
  if (token.expiration !== undefined && token.expiration <= now) {
    return failed(`${token.tokenId} ${expiry}`, LOGIN_FIX, details);
  }
  const started = src.clock.now();
  try {
    await withTimeout(src.clock, ctx.timeoutMs, (signal) =>
      src.controller(token.controllerAddress).readAuthToken(token.token, signal),
    );
    ctx.readMs = src.clock.now() - started;
  } catch (err) {
    if (err instanceof ControllerError && err.status === 401) {
      return failed(
        `the controller no longer accepts ${token.tokenId} (expired or revoked); the agent held it as valid, ${expiry}`,
        LOGIN_FIX,
        details,
      );
    }
    ctx.controllerError = err;
  }
  return passed(`${token.tokenId} for ${token.controllerAddress}, ${expiry}`, details);
}

function controllerReachable(ctx: Ctx): StepOutcome {
  const address = ctx.token?.controllerAddress ?? '';
  if (ctx.controllerError !== undefined) {
    const err = ctx.controllerError;
    return failed(
      err instanceof Error ? err.message : 'the controller did not answer',
      (err as { hint?: string }).hint ??
        'Check the network path to the controller (VPN, proxy, firewall).',
    );
  }
  return passed(`${address} answered (reading the token took ${ctx.readMs ?? 0} ms)`);
}

async function aliasListed(ctx: Ctx): Promise<StepOutcome> {
  const { src, uid, alias } = ctx;
  const started = src.clock.now();
  await src.refreshAliases(uid);
  const { last, error } = src.aliasRefresh(uid);
  const userId = ctx.token?.userId ?? 'YOUR_USER_ID';
  if (error !== undefined && error.time >= started) {
    const err = error.error;
    if (err instanceof ControllerError && err.status === 403) {
      return failed(
        'the controller refused to list your resolvable aliases (403 PermissionDenied)',
        `Your Boundary user needs the grant "type=user;ids=${userId};actions=list-resolvable-aliases" (ask your Boundary administrator); without it the agent cannot know your aliases.`,
      );
    }
    return failed(
      `the alias refresh failed: ${err instanceof Error ? err.message : String(err)}`,
      (err as { hint?: string }).hint ?? 'Check the controller, then run diag again.',
    );
  }
  const mine = src.aliasesOf(uid);
  const entry = mine.find((e) => e.value === alias);
  const refreshed =
    last === undefined
      ? 'never refreshed'
      : `refreshed ${roughDuration(src.clock.now() - last.time)} ago (${last.kind})`;
  if (entry === undefined) {
    const guess = closest(
      alias,
      mine.map((e) => e.value),
    );
    return failed(
      `${alias} is not among the ${mine.length} aliases your Boundary user may resolve (${refreshed})${guess === undefined ? '' : `; did you mean ${guess}?`}`,
      'Check the name. The alias must exist, point at a target, and your Boundary user needs a grant on that target (any action makes its aliases visible); ask your Boundary administrator.',
      { aliases: mine.length },
    );
  }
  ctx.entry = entry;
  const count = `${mine.length} ${mine.length === 1 ? 'alias' : 'aliases'}`;
  return passed(
    `${alias} → target ${entry.destinationId} (alias ${entry.id}); ${count} in all, ${refreshed}`,
    {
      alias_id: entry.id,
      target_id: entry.destinationId,
      ...(last === undefined ? {} : { last_refresh: new Date(last.time).toISOString() }),
    },
  );
}

async function authorize(ctx: Ctx): Promise<StepOutcome> {
  const { src, uid, alias } = ctx;
  const target = ctx.entry?.destinationId ?? 'TARGET_ID';
  try {
    const probe = await withTimeout(src.clock, ctx.timeoutMs, (signal) =>
      src.sessions.authorizeProbe(uid, alias, signal),
    );
    ctx.probe = probe;
    const data = probe.data;
    ctx.data = data;
    const worker = data.workerInfo[0]?.address ?? '(none)';
    return passed(
      `session ${data.sessionId} on ${data.targetId}, endpoint ${data.endpoint || '(hidden)'}, worker ${worker}`,
      { session_id: data.sessionId, target_id: data.targetId, worker },
    );
  } catch (err) {
    if (err instanceof ControllerError && err.status === 403) {
      return failed(
        `the controller refused authorize-session on ${target} (403 PermissionDenied)`,
        `Your Boundary user needs the grant "type=target;ids=${target};actions=authorize-session" (ask your Boundary administrator).`,
      );
    }
    if (err instanceof ControllerError && err.status === 404) {
      return failed(
        `the controller found nothing to authorize for ${alias} (404)`,
        'The alias has no destination, or its target has no host or address; ask your Boundary administrator.',
      );
    }
    throw err;
  }
}

async function workerAccepts(ctx: Ctx): Promise<StepOutcome> {
  const probe = ctx.probe;
  if (probe === undefined) throw new Error('no session');
  const data = probe.data;
  const stream = await withTimeout(ctx.src.clock, ctx.timeoutMs, (signal) =>
    ctx.src.worker.open(data, probe.tofu, signal),
  );
  ctx.stream = stream;
  stream.on('error', () => undefined);
  const left = stream.handshake.connectionsLeft;
  return passed(
    `${data.workerInfo[0]?.address ?? 'the worker'} accepted the session (TLS 1.3, handshake; ${left < 0 ? 'unlimited connections' : `${left} connections left`})`,
  );
}

async function targetReachable(ctx: Ctx): Promise<StepOutcome> {
  const stream = ctx.stream;
  const endpoint =
    ctx.data?.endpoint === undefined || ctx.data.endpoint === '' ? 'the target' : ctx.data.endpoint;
  if (stream === undefined) throw new Error('no connection');
  const outcome = await new Promise<'data' | 'closed' | 'open' | Error>((resolve) => {
    const timer = ctx.src.clock.setTimeout(() => {
      resolve('open');
    }, ctx.settleMs);
    const done = (value: 'data' | 'closed' | Error) => {
      timer.cancel();
      resolve(value);
    };
    stream.once('data', () => {
      done('data');
    });
    stream.once('error', (err: Error) => {
      done(err);
    });
    stream.once('end', () => {
      done('closed');
    });
    stream.resume();
  });
  stream.destroy();
  if (outcome instanceof Error) {
    if (outcome instanceof WorkerError) return failed(outcome.message, outcome.hint ?? '');
    throw outcome;
  }
  const seen = {
    data: `${endpoint} answered through the worker`,
    closed: `the worker connected to ${endpoint}, which closed the connection`,
    open: `the worker connected to ${endpoint}: no failure reported within ${ctx.settleMs} ms`,
  }[outcome];
  return passed(`${seen}; the test connection is closed`);
}

function sessionFigures(ctx: Ctx): StepOutcome {
  const { src, uid, alias } = ctx;
  const now = src.clock.now();
  const current = src.sessions.current(uid, alias);
  if (current !== undefined) {
    const limit = current.data.connectionLimit;
    const used = current.connections;
    return passed(
      `your session ${current.data.sessionId}: ${limit < 0 ? `${used} connections, no limit` : `${used} of ${limit} connections used`}, expires in ${roughDuration(current.expiresAt - now)} (${new Date(current.expiresAt).toISOString()})`,
      {
        session_id: current.data.sessionId,
        connection_limit: limit,
        connections: used,
        expiration: new Date(current.expiresAt).toISOString(),
      },
    );
  }
  const data = ctx.data;
  const expiresAt = data?.expiration?.getTime() ?? now;
  const limit = data?.connectionLimit ?? -1;
  return passed(
    `no session of yours for ${alias} yet (the first connection authorizes one); a session of this target allows ${limit < 0 ? 'unlimited connections' : `${limit} connection${limit === 1 ? '' : 's'}`} and lasts ${roughDuration(expiresAt - now)}`,
    { connection_limit: limit, lasts_seconds: Math.round((expiresAt - now) / 1000) },
  );
}

/** Cancels the probe session through the session manager: at the worker when it accepted the probe. */
async function endProbe(ctx: Ctx): Promise<void> {
  const probe = ctx.probe;
  if (probe === undefined) return;
  try {
    await withTimeout(ctx.src.clock, ctx.timeoutMs, (signal) =>
      ctx.src.sessions.endProbe(probe, ctx.stream !== undefined, signal),
    );
  } catch (err) {
    ctx.src.log.warn(
      { session: probe.data.sessionId, err: (err as Error).message },
      'Could not cancel the session diag authorized.',
    );
  }
}
