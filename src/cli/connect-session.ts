/**
 * The session `client-agent connect` relays: authorized through the running agent as the
 * calling OS user (an agent-managed session), or decoded from an authorization token that
 * `boundary targets authorize-session` gave (the bare token or that command's JSON). Either way
 * every failure is one message with its fix.
 */
import {
  type SessionCredentialJson,
  type SessionAuthorization,
  decodeAuthorizationToken,
  type SessionAuthorizationData,
  AuthorizationTokenError,
  cancelAtWorkerOrController,
  newTofuToken,
  type WorkerDialer,
} from '../boundary/index.js';
import { type ControlClient, ControlError } from '../control/index.js';
import { type Clock, withTimeout, AgentError } from '../lib/index.js';

export interface ConnectSession {
  readonly data: SessionAuthorizationData;
  readonly credentials: readonly SessionCredentialJson[];
  /** This command's tofu token, for every connection of the session. */
  readonly tofu: string;
  /** The agent that authorized it, which also cancels it; undefined for a given token. */
  readonly agent: ControlClient | undefined;
}

/** A session for `target` (alias value or target id) from the agent, as the calling user. */
export async function sessionFromAgent(
  agent: ControlClient,
  target: string,
  clock: Clock,
): Promise<ConnectSession> {
  let authorization: SessionAuthorization;
  try {
    authorization = await agent.authorizeSession(target);
  } catch (err) {
    throw explainRefusal(err, target);
  }
  const data = usable(decodeAuthorizationToken(authorization.authorization_token), clock);
  return { data, credentials: authorization.credentials ?? [], tofu: newTofuToken(), agent };
}

/** A session from an authorization token, or the JSON of `boundary targets authorize-session`. */
export function sessionFromToken(text: string, clock: Clock): ConnectSession {
  let token = text.trim();
  if (token.startsWith('{')) {
    token = tokenFromJson(token);
  }
  return {
    data: usable(decodeAuthorizationToken(token), clock),
    credentials: [],
    tofu: newTofuToken(),
    agent: undefined,
  };
}

/**
 * Cancels the session while it has time left. An agent-managed one through the agent first: it
 * holds the session's credentials and lets them go, and cancels at the worker, else through the
 * controller, itself. Otherwise (or when the agent cannot be reached) at the worker with this
 * command's tofu token. Returns a warning when it could not; never throws.
 */
export async function cancelSession(
  session: ConnectSession,
  dialer: WorkerDialer,
  clock: Clock,
): Promise<string | undefined> {
  const id = session.data.sessionId;
  const agent = session.agent;
  const failures: string[] = [];
  try {
    await cancelAtWorkerOrController({
      first: 'controller',
      controller:
        agent === undefined
          ? undefined
          : async () => (await agent.cancelSession(id)).canceled ?? 'controller',
      worker: () =>
        withTimeout(clock, 15_000, (signal) =>
          dialer.cancelSession(session.data, session.tofu, signal),
        ),
      onFailure: (_way, err) => failures.push((err as Error).message),
    });
    return undefined;
  } catch {
    return `could not cancel session ${id} (${failures.join('; ')}); it ends at ${session.data.expiration?.toISOString() ?? 'its expiration'}`;
  }
}

function tokenFromJson(text: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new AuthorizationTokenError('it looks like JSON but does not parse', { cause });
  }
  // `boundary targets authorize-session -format=json` wraps the authorization in `item`.
  const holder = (parsed as { item?: unknown }).item ?? parsed;
  const token = (holder as { authorization_token?: unknown }).authorization_token;
  if (typeof token !== 'string') {
    throw new AuthorizationTokenError('the JSON has no authorization_token');
  }
  return token;
}

/** Refuses a session that has already expired. */
function usable(data: SessionAuthorizationData, clock: Clock): SessionAuthorizationData {
  const expiration = data.expiration?.getTime() ?? 0;
  if (expiration <= clock.now()) {
    throw new AgentError(
      'connect.expired',
      `session ${data.sessionId} expired at ${new Date(expiration).toISOString()}`,
      {
        hint: 'Authorize a new session ("boundary targets authorize-session") and connect with its token.',
      },
    );
  }
  return data;
}

/** What the agent's refusal to authorize means for the user, with the fix. */
function explainRefusal(err: unknown, target: string): unknown {
  if (!(err instanceof ControlError) || err.code !== 'control.api') return err;
  const what = target.includes('_') ? `target ${target}` : `alias ${target}`;
  const detail = { cause: err };
  switch (err.status) {
    case 404:
      return new AgentError('connect.not_found', `no ${what} is known to your Boundary user`, {
        ...detail,
        hint: target.includes('_')
          ? 'Check the id with "boundary targets list -recursive".'
          : 'Check the spelling ("boundary aliases list -recursive"), or use -target-id.',
      });
    case 403:
      return new AgentError('connect.forbidden', `your Boundary user may not connect to ${what}`, {
        ...detail,
        hint: 'Ask your Boundary administrator for the grant "type=target;ids=…;actions=authorize-session".',
      });
    case 401:
      return new AgentError(
        'connect.unauthenticated',
        'the agent holds no Boundary token of yours that the controller accepts',
        {
          ...detail,
          hint: 'Log in: "client-agent login" (or "client-agent add-token"), or connect with -authz-token.',
        },
      );
    case 409:
      return new AgentError('connect.paused', 'the agent is paused: it authorizes no sessions', {
        ...detail,
        hint: 'Run "client-agent resume", or connect with -authz-token.',
      });
    default:
      return err;
  }
}
