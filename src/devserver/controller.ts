/**
 * The stand-in Boundary controller: the HTTP API the agent uses, with Boundary's JSON shapes,
 * status codes and error bodies (Boundary's `internal/daemon/controller/handlers/`). It can go
 * down and come back on the same port, and logs every request it serves (never a token).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { encodeAuthorizationToken } from '../boundary/index.js';
import {
  ApiError,
  forbidden,
  internalError,
  invalidArgument,
  notFound,
  AgentError,
  hostPort,
  parseHostPort,
  route,
  RouteTable,
} from '../lib/index.js';
import { AliasListings } from './alias-listing.js';
import { aliasJson, authTokenJson, compact, scopeJson, sessionJson } from './api-json.js';
import type { DevTarget, DevToken, DevUser, Directory } from './directory.js';
import { PROJECT_SCOPE } from './directory.js';
import { newId } from './ids.js';
import { createSessionCertificate } from './session-cert.js';
import type { SessionRecord, SessionStore } from './sessions.js';

export interface StandInControllerOptions {
  readonly directory: Directory;
  readonly sessions: SessionStore;
  /** `host:port` of the stand-in worker, put into every authorization token. */
  readonly workerAddress: () => string;
  readonly host?: string;
  readonly port?: number;
  readonly log: Logger;
}

interface Reply {
  readonly status: number;
  /** Undefined for 204 No Content. */
  readonly body?: Record<string, unknown>;
}

/** A request as the routes see it, its body read. */
interface DevRequest {
  readonly req: http.IncomingMessage;
  readonly url: URL;
  readonly text: string;
}

const unauthenticated = () =>
  new ApiError(401, 'Unauthenticated', 'Unauthenticated, or invalid token.');
const noResource = () => notFound('Resource not found.');
const MAX_BODY = 64 * 1024;

export class StandInController {
  readonly #o: StandInControllerOptions;
  readonly #listings: AliasListings;
  readonly #log: Logger;
  readonly #routes: RouteTable<DevRequest, Reply | Promise<Reply>>;
  #listingGate: Promise<void> | undefined;
  #server: http.Server | undefined;
  #port: number;

  constructor(options: StandInControllerOptions) {
    this.#o = options;
    this.#listings = new AliasListings(options.directory);
    this.#log = options.log.child({ component: 'devserver-controller' });
    this.#port = options.port ?? 0;
    this.#routes = this.#routeTable();
  }

  /** `http://host:port`, once started. */
  get address(): string {
    return `http://${hostPort(this.#o.host ?? '127.0.0.1', this.#port)}`;
  }

  async start(): Promise<void> {
    if (this.#server !== undefined) return;
    const server = http.createServer((req, res) => {
      this.#handle(req, res);
    });
    server.keepAliveTimeout = 5_000;
    const host = this.#o.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(
          new AgentError(
            'devserver.listen',
            `the stand-in controller cannot listen on ${host}:${this.#port}: ${err.code ?? err.message}`,
            {
              hint:
                err.code === 'EADDRINUSE'
                  ? 'Another program uses that port: choose another with --port.'
                  : undefined,
              cause: err,
            },
          ),
        );
      });
      server.listen(this.#port, host, () => {
        server.removeAllListeners('error');
        resolve();
      });
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
    this.#log.info({ address: this.address }, 'Stand-in controller listening.');
  }

  /** Stops listening and drops every connection; start() brings it back on the same port. */
  async close(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      void this.#reply(req, res, Buffer.concat(chunks), size);
    });
  }

  /**
   * Holds every alias listing answer until the returned function is called: a controller whose
   * listing is slow (many aliases, a loaded database), for tests of what must not wait for one.
   */
  holdListings(): () => void {
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.#listingGate = gate;
    return () => {
      if (this.#listingGate === gate) this.#listingGate = undefined;
      release();
    };
  }

  async #reply(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: Buffer,
    size: number,
  ): Promise<void> {
    let reply: Reply;
    try {
      if (size > MAX_BODY) throw invalidArgument('Request body too large.');
      reply = await this.#route(req, body.toString('utf8'));
    } catch (err) {
      const failure = err instanceof ApiError ? err : internalError();
      reply = { status: failure.status, body: { ...failure.body } };
      if (failure !== err) this.#log.error({ err }, 'Stand-in controller failed a request.');
    }
    const path = (req.url ?? '').split('?')[0];
    this.#log.info(
      { method: req.method, path, status: reply.status, userAgent: req.headers['user-agent'] },
      'Served a controller request.',
    );
    if (reply.body === undefined) {
      res.writeHead(reply.status).end();
      return;
    }
    const text = JSON.stringify(reply.body);
    res.writeHead(reply.status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  /** Boundary's routes the agent and the CLI use, and alias administration for the demo. */
  #routeTable(): RouteTable<DevRequest, Reply | Promise<Reply>> {
    return new RouteTable<DevRequest, Reply | Promise<Reply>>([
      route('POST', '/v1/auth-methods/{id}:authenticate', ({ text }, { id }) =>
        this.#authenticate(id, parseBody(text)),
      ),
      route('GET', '/v1/auth-tokens/{id}', ({ req }, { id }) => {
        const token = this.#signedIn(req);
        if (id !== token.id) throw forbidden();
        return ok(
          authTokenJson(token, this.#o.directory.authMethodId, this.#user(token).accountId, false),
        );
      }),
      route('GET', '/v1/users/{id}:list-resolvable-aliases', (r, { id }) =>
        this.#listAliases(r, id),
      ),
      route('POST', '/v1/aliases', ({ req, text }) => {
        this.#aliasManager(req);
        return ok(this.#createAlias(parseBody(text)));
      }),
      route('DELETE', '/v1/aliases/{id}', ({ req }, { id }) => {
        this.#aliasManager(req);
        if (!this.#o.directory.aliases.has(id)) throw noResource();
        this.#o.directory.removeAlias(id);
        return { status: 204 };
      }),
      route('GET', '/v1/targets', ({ req }) => this.#listTargets(req)),
      route('GET', '/v1/targets/{id}', ({ req }, { id }) =>
        this.#readTarget(this.#signedIn(req), id),
      ),
      route('POST', '/v1/targets/{id}:authorize-session', ({ req, text }, { id }) =>
        this.#authorizeSession(this.#signedIn(req), id, parseBody(text)),
      ),
      route('GET', '/v1/sessions', ({ req }) => {
        const token = this.#signedIn(req);
        const items = this.#o.sessions
          .all()
          .filter((s) => s.userId === token.userId && s.status !== 'terminated');
        return ok(
          compact({
            items: items.map(sessionJson),
            response_type: 'complete',
            sort_by: 'created_time',
            sort_dir: 'desc',
            est_item_count: items.length,
          }),
        );
      }),
      route('GET', '/v1/sessions/{id}', ({ req }, { id }) =>
        ok(sessionJson(this.#ownSession(req, id))),
      ),
      route('POST', '/v1/sessions/{id}:cancel', ({ req, text }, { id }) => {
        const session = this.#ownSession(req, id);
        const version = parseBody(text).version;
        if (typeof version !== 'number' || version === 0) {
          throw invalidArgument('Error in provided request.', [
            { name: 'version', description: 'Required field.' },
          ]);
        }
        if (version !== session.version) {
          throw new ApiError(
            400,
            'FailedPrecondition',
            'The session version does not match; read it again.',
          );
        }
        return ok(sessionJson(this.#o.sessions.cancel(session.id) ?? session));
      }),
    ]);
  }

  /** The request's route; a path or method the controller does not have is a 404. */
  #route(req: http.IncomingMessage, text: string): Reply | Promise<Reply> {
    const url = new URL(req.url ?? '/', 'http://controller');
    const found = this.#routes.find(req.method ?? 'GET', url.pathname);
    if (found?.route === undefined) throw notFound('Not Found');
    return found.route.handle({ req, url, text }, found.params);
  }

  /** `list-resolvable-aliases`, one page; held while holdListings() holds. */
  async #listAliases({ req, url }: DevRequest, userId: string): Promise<Reply> {
    const held = this.#listingGate;
    if (held !== undefined) await held;
    const user = this.#user(this.#signedIn(req));
    if (userId !== user.id || !user.canListAliases) throw forbidden();
    const pageSize = Number(url.searchParams.get('page_size') ?? '0');
    const result = this.#listings.list(
      user,
      url.searchParams.get('list_token') ?? undefined,
      Number.isInteger(pageSize) ? pageSize : 0,
    );
    if (!result.ok) {
      throw new ApiError(400, 'invalid list token', result.message, { op: 'listtoken.Validate' });
    }
    return ok(result.body);
  }

  /** The caller's session `id`: 404 when there is none, 403 when it is another user's. */
  #ownSession(req: http.IncomingMessage, id: string): SessionRecord {
    const token = this.#signedIn(req);
    const session = this.#o.sessions.get(id);
    if (session === undefined) throw noResource();
    if (session.userId !== token.userId) throw forbidden();
    return session;
  }

  /** Alias administration needs a user with `manage_aliases` in the data file. */
  #aliasManager(req: http.IncomingMessage): void {
    if (!this.#user(this.#signedIn(req)).canManageAliases) throw forbidden();
  }

  /** `POST /v1/aliases` (Boundary's `aliases create target`): the new alias resource. */
  #createAlias(body: Record<string, unknown>): Record<string, unknown> {
    const directory = this.#o.directory;
    const invalid = (name: string, description: string) =>
      invalidArgument('Error in provided request.', [{ name, description }]);
    if (body.type !== 'target') throw invalid('type', 'Only "target" aliases exist.');
    const value = body.value;
    if (typeof value !== 'string' || !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(value)) {
      throw invalid('value', 'Must be a DNS name.');
    }
    if (directory.aliasByValue(value) !== undefined) {
      throw invalid('value', 'An alias with this value already exists.');
    }
    const destinationId = body.destination_id;
    if (
      destinationId !== undefined &&
      (typeof destinationId !== 'string' || !directory.targets.has(destinationId))
    ) {
      throw invalid('destination_id', 'No such target.');
    }
    const alias = directory.addAlias({ value, destinationId });
    return { ...aliasJson(alias), scope_id: 'global', version: 1 };
  }

  #authenticate(authMethodId: string, body: Record<string, unknown>): Reply {
    const directory = this.#o.directory;
    if (authMethodId !== directory.authMethodId) throw noResource();
    const attrs = (body.attributes ?? {}) as Record<string, unknown>;
    const user =
      typeof attrs.login_name === 'string' ? directory.userByLogin(attrs.login_name) : undefined;
    if (user === undefined || attrs.password !== user.password) {
      throw new ApiError(401, 'Unauthenticated', 'Unable to authenticate.');
    }
    const token = directory.issueToken(user.id);
    this.#log.info({ user: user.id, tokenId: token.id }, 'Issued an auth token.');
    return ok({
      command: 'login',
      attributes: authTokenJson(token, directory.authMethodId, user.accountId, true),
    });
  }

  /** `GET /v1/targets/{id}`: needs the `read` action on the target; creates nothing. */
  #readTarget(token: DevToken, id: string): Reply {
    const target = this.#o.directory.targets.get(id);
    if (target === undefined) throw noResource();
    const actions = this.#user(token).grants.get(target.id);
    if (!actions?.has('read')) throw forbidden();
    return ok(targetJson(target, actions));
  }

  /**
   * `GET /v1/targets?scope_id=global&recursive=true[&filter=…]`: needs the `list` action on
   * targets and lists those the user has any grant on, every field included, in one complete
   * page. Of Boundary's filter language only `"/item/id" == "…"` is understood.
   */
  #listTargets(req: http.IncomingMessage): Reply {
    const user = this.#user(this.#signedIn(req));
    if (!user.canListTargets) throw forbidden();
    const filter = new URL(req.url ?? '/', 'http://stand-in').searchParams.get('filter');
    let onlyId: string | undefined;
    if (filter !== null) {
      const byId = /^"\/item\/id"\s*==\s*"([^"]*)"$/.exec(filter.trim());
      if (byId === null) {
        throw invalidArgument('Error in provided request.', [
          { name: 'filter', description: 'The stand-in understands only "/item/id" == "<id>".' },
        ]);
      }
      onlyId = byId[1];
    }
    const items = [...user.grants]
      .filter(([id]) => onlyId === undefined || id === onlyId)
      .flatMap(([id, actions]) => {
        const target = this.#o.directory.targets.get(id);
        return target === undefined ? [] : [targetJson(target, actions)];
      });
    return ok({
      items,
      response_type: 'complete',
      list_token: `ltok_${newId('t')}`,
      sort_by: 'created_time',
      sort_dir: 'desc',
      est_item_count: items.length,
    });
  }

  #authorizeSession(token: DevToken, idOrAlias: string, body: Record<string, unknown>): Reply {
    const directory = this.#o.directory;
    let targetId = idOrAlias;
    let aliasHostId: string | undefined;
    if (!idOrAlias.includes('_') && body.scope_id === undefined && body.scope_name === undefined) {
      const alias = directory.aliasByValue(idOrAlias);
      if (alias?.destinationId === undefined) throw noResource();
      targetId = alias.destinationId;
      aliasHostId = alias.hostId;
    }
    const target = directory.targets.get(targetId);
    if (target === undefined) throw noResource();
    const user = this.#user(token);
    if (!(user.grants.get(target.id)?.has('authorize-session') ?? false)) throw forbidden();
    const requestedHost = typeof body.host_id === 'string' ? body.host_id : undefined;
    if (aliasHostId !== undefined && requestedHost !== undefined && requestedHost !== aliasHostId) {
      throw invalidArgument('Error in provided request.', [
        {
          name: 'host_id',
          description: 'The alias has a host id which conflicts with the one requested.',
        },
      ]);
    }
    const hostId = requestedHost ?? aliasHostId ?? target.id;
    if (hostId !== target.id) {
      throw invalidArgument('Error in provided request.', [
        { name: 'host_id', description: 'The requested host id is not available.' },
      ]);
    }
    const now = directory.clock.now();
    const expiration = now + target.sessionMaxSeconds * 1000;
    const sessionId = newId('s');
    const workerAddress = this.#o.workerAddress();
    const cert = createSessionCertificate({
      sessionId,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(expiration),
      workerHosts: [parseHostPort(workerAddress).host],
    });
    const endpoint = `tcp://${hostPort(target.address, target.port)}`;
    const session = this.#o.sessions.create({
      id: sessionId,
      targetId: target.id,
      scopeId: PROJECT_SCOPE.id,
      userId: user.id,
      authTokenId: token.id,
      hostId,
      hostSetId: undefined,
      type: 'tcp',
      endpoint,
      endpointHost: target.address,
      endpointPort: target.port,
      expirationTime: expiration,
      connectionLimit: target.connectionLimit,
      certificate: cert.certificate,
      privateKey: cert.privateKey,
    });
    const authorizationToken = encodeAuthorizationToken({
      sessionId,
      targetId: target.id,
      scope: {
        id: PROJECT_SCOPE.id,
        type: PROJECT_SCOPE.type,
        name: PROJECT_SCOPE.name,
        description: '',
        parentScopeId: PROJECT_SCOPE.parentScopeId,
      },
      createdTime: new Date(session.createdTime),
      type: 'tcp',
      connectionLimit: target.connectionLimit,
      endpointPort: target.port,
      expiration: new Date(expiration),
      certificate: cert.certificate,
      privateKey: cert.privateKey,
      hostId,
      endpoint,
      workerInfo: [{ address: workerAddress }],
      defaultClientPort: target.defaultClientPort,
    });
    this.#log.info(
      { user: user.id, target: target.id, session: sessionId },
      'Authorized a session.',
    );
    return ok(
      compact({
        session_id: sessionId,
        target_id: target.id,
        scope: scopeJson(),
        created_time: new Date(session.createdTime).toISOString(),
        user_id: user.id,
        host_id: hostId,
        type: 'tcp',
        authorization_token: authorizationToken,
        connection_limit: target.connectionLimit,
        endpoint,
        endpoint_port: target.port,
        expiration: new Date(expiration).toISOString(),
        credentials:
          target.credentials === undefined
            ? undefined
            : [credentialJson(target.id, target.credentials)],
      }),
    );
  }

  #bearer(req: http.IncomingMessage): DevToken | undefined {
    const header = req.headers.authorization;
    if (header === undefined) return undefined;
    const [scheme, value] = header.trim().split(/\s+/, 2);
    if (scheme?.toLowerCase() !== 'bearer' || value?.split('_').length !== 3) return undefined;
    return this.#o.directory.resolveToken(value);
  }

  /** The caller's token; a request without a valid one is a 401. */
  #signedIn(req: http.IncomingMessage): DevToken {
    const token = this.#bearer(req);
    if (token === undefined) throw unauthenticated();
    return token;
  }

  #user(token: DevToken): DevUser {
    const user = this.#o.directory.users.get(token.userId);
    if (user === undefined) throw unauthenticated();
    return user;
  }
}

/** A target as Boundary's API gives it, with the caller's actions on it. */
function targetJson(target: DevTarget, actions: ReadonlySet<string>): Record<string, unknown> {
  return compact({
    id: target.id,
    scope_id: target.scopeId,
    scope: scopeJson(),
    name: target.name,
    type: target.type,
    version: 1,
    session_max_seconds: target.sessionMaxSeconds,
    session_connection_limit: target.connectionLimit,
    address: target.address,
    // tcp attributes, each omitted when 0 (api/targets/tcp_target_attributes.gen.go)
    attributes: compact({
      default_port: target.port === 0 ? undefined : target.port,
      default_client_port: target.defaultClientPort === 0 ? undefined : target.defaultClientPort,
    }),
    authorized_actions: [...actions],
  });
}

function ok(body: Record<string, unknown>): Reply {
  return { status: 200, body };
}

function parseBody(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalidArgument('Error in provided request: the body is not JSON.');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalidArgument('Error in provided request: the body is not a JSON object.');
  }
  return parsed as Record<string, unknown>;
}

function credentialJson(
  targetId: string,
  cred: { username: string; password: string },
): Record<string, unknown> {
  const secret = { username: cred.username, password: cred.password };
  return {
    credential_source: {
      id: `credup_${targetId.slice(-10)}`,
      name: 'demo credentials',
      credential_store_id: 'csst_1234567890',
      type: 'static',
      credential_type: 'username_password',
    },
    secret: { raw: Buffer.from(JSON.stringify(secret)).toString('base64'), decoded: secret },
    credential: secret,
  };
}
