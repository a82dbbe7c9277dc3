/**
 * The control API's routes: what each does for an identified caller. Transport, identification
 * and request checks live in the server. Paths with `{…}` take one segment as a parameter.
 */
import type { IncomingMessage } from 'node:http';
import { isValidAliasValue } from '../alias-cache/alias-value.js';
import type { AgentControl } from './agent-api.js';
import { forbidden, invalidArgument } from './api-error.js';
import { parseJsonObject, readBody } from './request-guard.js';
import { parseTokenRequest } from './token-request.js';

export interface RouteContext {
  readonly agent: AgentControl;
  readonly uid: number;
  /** May pause and resume without a token: root and the agent's own user. */
  readonly privileged: boolean;
  readonly req: IncomingMessage;
  /** The path's `{…}` segment, decoded ('' for routes without one). */
  readonly param: string;
}

export interface Route {
  /** `/v1/sessions/{id}:cancel`: `{id}` matches one segment without `/` or `:`. */
  readonly path: string;
  readonly method: 'GET' | 'POST';
  /** Handles the request after its body was read; returns the 200 JSON answer. */
  readonly handle: (ctx: RouteContext) => Promise<unknown>;
}

export const ROUTES: readonly Route[] = [
  {
    path: '/v1/status',
    method: 'GET',
    handle: ({ agent, uid, privileged }) => Promise.resolve(agent.status(uid, privileged)),
  },
  {
    path: '/v1/status/details',
    method: 'GET',
    handle: ({ agent, uid }) => Promise.resolve(agent.details(uid)),
  },
  stateRoute('/v1/pause', 'pause', (agent, uid) => agent.pause(uid)),
  stateRoute('/v1/resume', 'resume', (agent, uid) => agent.resume(uid)),
  {
    path: '/v1/sessions',
    method: 'GET',
    handle: ({ agent, uid }) => {
      const items = agent.sessions(uid);
      // Like Boundary, an empty list is left out rather than sent as [].
      return Promise.resolve(items.length === 0 ? {} : { items });
    },
  },
  // As the controller's route: a session for the caller, by alias value or target id.
  paramRoute('/v1/targets/{target}:authorize-session', 'POST', (agent, uid, target) =>
    agent.authorizeSession(uid, target),
  ),
  paramRoute('/v1/sessions/{id}', 'GET', (agent, uid, id) => agent.readSession(uid, id)),
  paramRoute('/v1/sessions/{id}:cancel', 'POST', (agent, uid, id) => agent.cancelSession(uid, id)),
  {
    path: '/v1/tokens',
    method: 'POST',
    handle: async ({ agent, uid, req }) => {
      const { boundaryAddr, token, allowPlainHttp, waitForAliases } = parseTokenRequest(
        parseJsonObject(req, await readBody(req)),
      );
      await agent.addToken(uid, boundaryAddr, token, { allowPlainHttp, waitForAliases });
      return {};
    },
  },
  {
    path: '/v1/diag/alias',
    method: 'POST',
    // The caller's own checklist, with the caller's own token: no one diagnoses as another user.
    handle: async ({ agent, uid, req }) =>
      agent.diagnoseAlias(uid, parseAliasRequest(parseJsonObject(req, await readBody(req)))),
  },
];

const MATCHERS = ROUTES.map((route) => ({
  route,
  pattern: new RegExp(
    `^${route.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/, '([^/:]+)')}$`,
  ),
}));

/** The route for a path (whatever the method) and its parameter; undefined when none. */
export function findRoute(path: string): { route: Route; param: string } | undefined {
  for (const { route, pattern } of MATCHERS) {
    const match = pattern.exec(path);
    if (match === null) continue;
    let param = '';
    try {
      param = decodeURIComponent(match[1] ?? '');
    } catch {
      throw invalidArgument(`The path ${path} is not valid URL encoding.`);
    }
    return { route, param };
  }
  return undefined;
}

/** A route on its path parameter; a POST's body is read (within the limit) and ignored. */
function paramRoute(
  path: string,
  method: Route['method'],
  call: (agent: AgentControl, uid: number, param: string) => Promise<unknown>,
): Route {
  return {
    path,
    method,
    handle: async ({ agent, uid, req, param }) => {
      if (method === 'POST') await readBody(req);
      return call(agent, uid, param);
    },
  };
}

/** Pause or resume: allowed to root, the agent's user and users with a token; answers the status. */
function stateRoute(
  path: string,
  verb: string,
  change: (agent: AgentControl, uid: number) => Promise<void>,
): Route {
  return {
    path,
    method: 'POST',
    handle: async ({ agent, uid, privileged, req }) => {
      if (!privileged && !agent.hasToken(uid)) {
        throw forbidden(`Only a user who has given the agent a token may ${verb} it.`);
      }
      // No body is expected; one sent anyway is read (within the limit) and ignored.
      await readBody(req);
      await change(agent, uid);
      return agent.status(uid, privileged);
    },
  };
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
