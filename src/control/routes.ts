/**
 * The control API's routes: what each does for an identified caller. Transport, identification
 * and request checks live in the server.
 */
import type { IncomingMessage } from 'node:http';
import type { AgentControl } from './agent-api.js';
import { forbidden } from './api-error.js';
import { parseJsonObject, readBody } from './request-guard.js';
import { parseTokenRequest } from './token-request.js';

export interface RouteContext {
  readonly agent: AgentControl;
  readonly uid: number;
  /** May pause and resume without a token: root and the agent's own user. */
  readonly privileged: boolean;
  readonly req: IncomingMessage;
}

export interface Route {
  readonly method: 'GET' | 'POST';
  /** Handles the request after its body was read; returns the 200 JSON answer. */
  readonly handle: (ctx: RouteContext) => Promise<unknown>;
}

export const ROUTES: ReadonlyMap<string, Route> = new Map<string, Route>([
  ['/v1/status', { method: 'GET', handle: ({ agent, uid }) => Promise.resolve(agent.status(uid)) }],
  [
    '/v1/status/details',
    { method: 'GET', handle: ({ agent, uid }) => Promise.resolve(agent.details(uid)) },
  ],
  ['/v1/pause', stateRoute('pause', (agent, uid) => agent.pause(uid))],
  ['/v1/resume', stateRoute('resume', (agent, uid) => agent.resume(uid))],
  [
    '/v1/sessions',
    {
      method: 'GET',
      handle: ({ agent, uid }) => {
        const items = agent.sessions(uid);
        // Like Boundary, an empty list is left out rather than sent as [].
        return Promise.resolve(items.length === 0 ? {} : { items });
      },
    },
  ],
  [
    '/v1/tokens',
    {
      method: 'POST',
      handle: async ({ agent, uid, req }) => {
        const { boundaryAddr, token, allowPlainHttp } = parseTokenRequest(
          parseJsonObject(req, await readBody(req)),
        );
        await agent.addToken(uid, boundaryAddr, token, { allowPlainHttp });
        return {};
      },
    },
  ],
]);

/** Pause or resume: allowed to root, the agent's user and users with a token; answers the status. */
function stateRoute(
  verb: string,
  change: (agent: AgentControl, uid: number) => Promise<void>,
): Route {
  return {
    method: 'POST',
    handle: async ({ agent, uid, privileged, req }) => {
      if (!privileged && !agent.hasToken(uid)) {
        throw forbidden(`Only a user who has given the agent a token may ${verb} it.`);
      }
      await drain(req);
      await change(agent, uid);
      return agent.status(uid);
    },
  };
}

/** Pause and resume take no body; one sent anyway is read (within the limit) and ignored. */
async function drain(req: IncomingMessage): Promise<void> {
  await readBody(req);
}
