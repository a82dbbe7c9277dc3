/**
 * The control API's routes: what each does for an identified caller. Transport, identification
 * and request checks live in the server.
 */
import type { IncomingMessage } from 'node:http';
import { isValidAliasValue } from '../alias-cache/index.js';
import { forbidden, invalidArgument, route, RouteTable, type Route } from '../lib/index.js';
import type { AgentControl } from './agent-api.js';
import { parseJsonObject, readBody } from './request-guard.js';
import { parseTokenRequest } from './token-request.js';

export interface RouteContext {
  readonly agent: AgentControl;
  readonly uid: number;
  /** May pause and resume without a token: root and the agent's own user. */
  readonly privileged: boolean;
  readonly req: IncomingMessage;
}

/** A route reads the body itself (within the limit) and resolves to the 200 JSON answer. */
type ControlRoute = Route<RouteContext, Promise<unknown>>;

export const ROUTES = new RouteTable<RouteContext, Promise<unknown>>([
  route('GET', '/v1/status', ({ agent, uid, privileged }) =>
    Promise.resolve(agent.status(uid, privileged)),
  ),
  route('GET', '/v1/status/details', ({ agent, uid }) => Promise.resolve(agent.details(uid))),
  stateRoute('/v1/pause', 'pause', (agent, uid) => agent.pause(uid)),
  stateRoute('/v1/resume', 'resume', (agent, uid) => agent.resume(uid)),
  route('GET', '/v1/sessions', ({ agent, uid }) => {
    const items = agent.sessions(uid);
    // Like Boundary, an empty list is left out rather than sent as [].
    return Promise.resolve(items.length === 0 ? {} : { items });
  }),
  // As the controller's route: a session for the caller, by alias value or target id.
  route('POST', '/v1/targets/{target}:authorize-session', async ({ agent, uid, req }, p) =>
    agent.authorizeSession(uid, await ignoringBody(req, p.target)),
  ),
  route('GET', '/v1/sessions/{id}', ({ agent, uid }, { id }) => agent.readSession(uid, id)),
  route('POST', '/v1/sessions/{id}:cancel', async ({ agent, uid, req }, p) =>
    agent.cancelSession(uid, await ignoringBody(req, p.id)),
  ),
  route('POST', '/v1/tokens', async ({ agent, uid, req }) => {
    const { boundaryAddr, token, allowPlainHttp, waitForAliases } = parseTokenRequest(
      parseJsonObject(req, await readBody(req)),
    );
    await agent.addToken(uid, boundaryAddr, token, { allowPlainHttp, waitForAliases });
    return {};
  }),
  // The caller's own checklist, with the caller's own token: no one diagnoses as another user.
  route('POST', '/v1/diag/alias', async ({ agent, uid, req }) =>
    agent.diagnoseAlias(uid, parseAliasRequest(parseJsonObject(req, await readBody(req)))),
  ),
]);

/** A POST whose body is read (within the limit) and ignored; resolves to `value`. */
async function ignoringBody<T>(req: IncomingMessage, value: T): Promise<T> {
  await readBody(req);
  return value;
}

/** Pause or resume: allowed to root, the agent's user and users with a token; answers the status. */
function stateRoute(
  path: string,
  verb: string,
  change: (agent: AgentControl, uid: number) => Promise<void>,
): ControlRoute {
  return route('POST', path, async ({ agent, uid, privileged, req }) => {
    if (!privileged && !agent.hasToken(uid)) {
      throw forbidden(`Only a user who has given the agent a token may ${verb} it.`);
    }
    // No body is expected; one sent anyway is read (within the limit) and ignored.
    await readBody(req);
    await change(agent, uid);
    return agent.status(uid, privileged);
  });
}

/** `{"alias": "db.corp"}`: an alias value (a DNS name; a trailing dot is allowed). */
function parseAliasRequest(body: Record<string, unknown>): string {
  const alias = body.alias;
  if (typeof alias !== 'string' || !isValidAliasValue(alias.replace(/\.$/, ''))) {
    throw invalidArgument('Error in provided request.', [
      { name: 'alias', description: 'Must be an alias value, a DNS name such as db.corp.' },
    ]);
  }
  return alias;
}
