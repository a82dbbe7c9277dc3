/**
 * A typed client for the Boundary controller's HTTP API: password login, token self-read,
 * list-resolvable-aliases (every page), target read, authorize-session, session read and cancel. Every request
 * has a timeout and honours the caller's AbortSignal; every failure is a ControllerError.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import type { Dispatcher } from 'undici';
import {
  type ApiRequestField,
  systemClock,
  type Clock,
  AgentError,
  timeoutSignal,
  packageVersion,
} from '../lib/index.js';
import type {
  ApiErrorBody,
  AuthenticateResponse,
  AuthToken,
  ListResolvableAliasesResponse,
  ListTargetsResponse,
  ResolvableAlias,
  Session,
  SessionAuthorization,
  Target,
} from './api-types.js';
import { normalizeControllerAddress } from './controller-address.js';
import { ControllerError } from './errors.js';

export interface ControllerClientOptions {
  /** The controller's base URL, `https://boundary.corp` or `http://127.0.0.1:9200`. */
  readonly address: string;
  /** PEM CA certificate(s) to trust in addition to the system's (a file path). */
  readonly caFile?: string | undefined;
  /** Skip TLS verification: development only. */
  readonly insecure?: boolean | undefined;
  /**
   * Allow an `http://` address that is not loopback: tokens and passwords then cross the network
   * in clear. Without it such an address is refused (PlainHttpError) before anything is sent.
   */
  readonly allowPlainHttp?: boolean | undefined;
  /** Per request, default 30 s. */
  readonly timeoutMs?: number | undefined;
  /** Bounds each request; default the system clock (one-shot CLI commands). */
  readonly clock?: Clock | undefined;
  /**
   * Sent as `User-Agent`, default `client-agent/<version>`: the controller's operators can tell
   * the agent's requests from the CLI's and Desktop's.
   */
  readonly userAgent?: string | undefined;
}

export interface AliasListing {
  /** Every item of every page, in the order received (upsert by id). */
  readonly items: readonly ResolvableAlias[];
  readonly removedIds: readonly string[];
  /** The token of the last page, for the next refresh; undefined if the controller sent none. */
  readonly listToken: string | undefined;
  /** True when this listing was a refresh from a list token (deltas only). */
  readonly refresh: boolean;
  readonly pages: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** A runaway guard: 100,000 aliases at the server's default page size is 100 pages. */
const MAX_PAGES = 10_000;

export class ControllerClient {
  readonly address: string;
  readonly #options: ControllerClientOptions;
  readonly #userAgent: string;
  #dispatcher: Promise<Dispatcher> | undefined;

  constructor(options: ControllerClientOptions) {
    this.address = normalizeControllerAddress(options.address);
    if (options.allowPlainHttp !== true && sendsInClear(this.address)) {
      throw new PlainHttpError(this.address);
    }
    this.#options = options;
    // Read once: packageVersion() reads package.json from disk.
    this.#userAgent = options.userAgent ?? `client-agent/${packageVersion()}`;
  }

  async authenticate(
    authMethodId: string,
    loginName: string,
    password: string,
    signal?: AbortSignal,
  ): Promise<AuthToken & { token: string }> {
    const body = await this.#call<AuthenticateResponse>(
      'POST',
      `/v1/auth-methods/${encodeURIComponent(authMethodId)}:authenticate`,
      {
        token: undefined,
        signal,
        body: { command: 'login', attributes: { login_name: loginName, password } },
      },
    );
    const attributes = body.attributes;
    if (attributes?.token === undefined || attributes.id === '') {
      throw badResponse(this.address, 'the login answer has no token');
    }
    return { ...attributes, token: attributes.token };
  }

  /** Reads the token's own record (user id, expiry): needs the `read:self` grant. */
  readAuthToken(token: string, signal?: AbortSignal): Promise<AuthToken> {
    return this.#call<AuthToken>('GET', `/v1/auth-tokens/${encodeURIComponent(tokenId(token))}`, {
      token,
      signal,
    });
  }

  /**
   * Walks every page of the user's resolvable aliases: a full listing without `listToken`, a
   * refresh (changes and removals since) with one.
   */
  async listResolvableAliases(
    token: string,
    userId: string,
    options: {
      listToken?: string | undefined;
      pageSize?: number | undefined;
      signal?: AbortSignal | undefined;
    } = {},
  ): Promise<AliasListing> {
    const items: ResolvableAlias[] = [];
    const removedIds: string[] = [];
    let listToken = options.listToken;
    for (let page = 1; page <= MAX_PAGES; page++) {
      const query = new URLSearchParams({ scope_id: 'global', recursive: 'true' });
      if (listToken !== undefined) query.set('list_token', listToken);
      if (options.pageSize !== undefined) query.set('page_size', String(options.pageSize));
      const body = await this.#call<ListResolvableAliasesResponse>(
        'GET',
        `/v1/users/${encodeURIComponent(userId)}:list-resolvable-aliases?${query.toString()}`,
        { token, signal: options.signal },
      );
      if (body.items !== undefined) items.push(...body.items);
      if (body.removed_ids !== undefined) removedIds.push(...body.removed_ids);
      listToken = body.list_token;
      if (body.response_type !== 'delta') {
        return {
          items,
          removedIds,
          listToken,
          refresh: options.listToken !== undefined,
          pages: page,
        };
      }
      if (listToken === undefined) {
        throw badResponse(this.address, 'a "delta" page of aliases came without a list_token');
      }
    }
    throw badResponse(this.address, `the alias listing did not end after ${MAX_PAGES} pages`);
  }

  /**
   * Reads a target (its ports): needs the `read` action on it, and creates nothing at the
   * controller (internal/daemon/controller/handlers/targets/target_service.go `GetTarget`).
   */
  readTarget(token: string, targetId: string, signal?: AbortSignal): Promise<Target> {
    return this.#call<Target>('GET', `/v1/targets/${encodeURIComponent(targetId)}`, {
      token,
      signal,
    });
  }

  /**
   * A target found by listing (`GET /v1/targets`, filtered to its id), for a user who may list
   * targets but not read them: the listing needs the `list` action on targets, and its items
   * carry every field by default, the ports included
   * (internal/daemon/controller/handlers/targets/target_service.go `ListTargets`,
   * internal/perms/output_fields.go `SelfOrDefaults`). Undefined when it is not listed.
   */
  async findTarget(
    token: string,
    targetId: string,
    signal?: AbortSignal,
  ): Promise<Target | undefined> {
    const query = new URLSearchParams({
      scope_id: 'global',
      recursive: 'true',
      filter: `"/item/id" == ${JSON.stringify(targetId)}`,
    });
    for (let page = 1; page <= MAX_PAGES; page++) {
      const body = await this.#call<ListTargetsResponse>('GET', `/v1/targets?${query.toString()}`, {
        token,
        signal,
      });
      const found = body.items?.find((t) => t.id === targetId);
      if (found !== undefined) return found;
      if (body.response_type !== 'delta') return undefined;
      if (body.list_token === undefined) {
        throw badResponse(this.address, 'a "delta" page of targets came without a list_token');
      }
      query.set('list_token', body.list_token);
    }
    throw badResponse(this.address, `the target listing did not end after ${MAX_PAGES} pages`);
  }

  /** By target id (`ttcp_…`) or by alias value (`db.corp`), optionally on one host. */
  authorizeSession(
    token: string,
    targetIdOrAlias: string,
    options: { hostId?: string | undefined; signal?: AbortSignal | undefined } = {},
  ): Promise<SessionAuthorization> {
    const body = options.hostId === undefined ? {} : { host_id: options.hostId };
    return this.#call<SessionAuthorization>(
      'POST',
      `/v1/targets/${encodeURIComponent(targetIdOrAlias)}:authorize-session`,
      { token, signal: options.signal, body },
    );
  }

  readSession(token: string, sessionId: string, signal?: AbortSignal): Promise<Session> {
    return this.#call<Session>('GET', `/v1/sessions/${encodeURIComponent(sessionId)}`, {
      token,
      signal,
    });
  }

  /** `version` is the session's current version, as Boundary requires. */
  cancelSession(
    token: string,
    sessionId: string,
    version: number,
    signal?: AbortSignal,
  ): Promise<Session> {
    return this.#call<Session>('POST', `/v1/sessions/${encodeURIComponent(sessionId)}:cancel`, {
      token,
      signal,
      body: { version },
    });
  }

  async close(): Promise<void> {
    const dispatcher = this.#dispatcher;
    this.#dispatcher = undefined;
    if (dispatcher !== undefined) await (await dispatcher).close();
  }

  async #call<T>(
    method: 'GET' | 'POST',
    path: string,
    options: { token: string | undefined; signal: AbortSignal | undefined; body?: unknown },
  ): Promise<T> {
    const { request } = await import('undici');
    const timeoutMs = this.#options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const bound = timeoutSignal(this.#options.clock ?? systemClock, timeoutMs);
    const timeout = bound.signal;
    const signal =
      options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': this.#userAgent,
    };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const url = `${this.address}${path}`;
    let status: number;
    let text: string;
    try {
      const response = await request(url, {
        method,
        headers,
        body: options.body === undefined ? null : JSON.stringify(options.body),
        signal,
        dispatcher: await this.#getDispatcher(),
      });
      status = response.statusCode;
      text = await response.body.text();
    } catch (cause) {
      if (options.signal?.aborted === true) {
        throw new ControllerError(
          'controller.aborted',
          `the request to ${this.address} was cancelled`,
          { cause },
        );
      }
      if (timeout.aborted) {
        throw new ControllerError(
          'controller.timeout',
          `the controller at ${this.address} did not answer within ${timeoutMs / 1000} s`,
          { cause, hint: 'Check the network path to the controller; the agent retries later.' },
        );
      }
      throw unreachable(this.address, cause);
    } finally {
      bound.cancel();
    }
    let parsed: unknown;
    try {
      parsed = text === '' ? {} : JSON.parse(text);
    } catch (cause) {
      throw badResponse(this.address, `HTTP ${status} with a body that is not JSON`, cause);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw badResponse(this.address, `HTTP ${status} with a body that is not a JSON object`);
    }
    if (status >= 400) throw apiError(this.address, method, path, status, parsed);
    return parsed as T;
  }

  #getDispatcher(): Promise<Dispatcher> {
    this.#dispatcher ??= (async () => {
      const { Agent } = await import('undici');
      const connect: { ca?: string[]; rejectUnauthorized?: boolean } = {};
      if (this.#options.caFile !== undefined) connect.ca = [readCa(this.#options.caFile)];
      if (this.#options.insecure === true) connect.rejectUnauthorized = false;
      return new Agent({ connect, keepAliveTimeout: 30_000 });
    })();
    return this.#dispatcher;
  }
}

/** An address without TLS that leaves this machine: `http://` to anything but loopback. */
export function sendsInClear(address: string): boolean {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:') return false;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const loopback =
    host === 'localhost' || host === '::1' || (net.isIPv4(host) && host.startsWith('127.'));
  return !loopback;
}

/** A controller address that would send a token or password in clear, not allowed. */
export class PlainHttpError extends AgentError {
  constructor(address: string) {
    super(
      'boundary.plain_http',
      `refusing to send a Boundary token or password to ${address} over plain HTTP`,
      {
        hint: 'Use the https:// address of the controller. Only for a lab controller without TLS, allow it with --allow-plain-http (anyone on the network path can then read the token).',
      },
    );
  }
}

/** A Boundary auth token splits on `_` into exactly three non-empty parts (`at_<id>_s1…`). */
export function isTokenShape(token: string): boolean {
  const parts = token.split('_');
  return parts.length === 3 && parts.every((p) => p !== '');
}

/** The public id of a token: `at_1234567890` of `at_1234567890_s1…`. */
export function tokenId(token: string): string {
  const parts = token.split('_');
  if (!isTokenShape(token) || parts[0] !== 'at') {
    throw new AgentError('boundary.token_format', 'this is not a Boundary auth token', {
      hint: 'A Boundary token looks like at_1234567890_s1…; copy it whole, for example from "boundary config get-token".',
    });
  }
  return `${parts[0]}_${parts[1]}`;
}

function readCa(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw new AgentError('boundary.ca_file', `cannot read the CA file ${file}`, {
      hint: 'Give a readable PEM file with the certificate(s) that signed the controller certificate.',
      cause,
    });
  }
}

function unreachable(address: string, cause: unknown): ControllerError {
  const code = (cause as { code?: unknown }).code;
  const reason =
    typeof code === 'string' ? code : cause instanceof Error ? cause.message : String(cause);
  const tls = typeof code === 'string' && /CERT|SELF_SIGNED|TLS|SSL/.test(code);
  return new ControllerError(
    'controller.unreachable',
    `cannot reach the controller at ${address}: ${reason}`,
    {
      cause,
      hint: tls
        ? 'The controller certificate is not trusted: give its CA file, or use the insecure switch only for development.'
        : 'Check the address and your network; the agent keeps serving what it knows and retries.',
    },
  );
}

function badResponse(address: string, what: string, cause?: unknown): ControllerError {
  return new ControllerError(
    'controller.bad_response',
    `the controller at ${address} answered ${what}`,
    {
      cause,
      hint: 'Check that the address is a Boundary controller (not a proxy or web page).',
    },
  );
}

const STATUS_HINTS: Readonly<Record<number, string>> = {
  401: 'The Boundary token has expired or is not valid: log in again.',
  403: 'Your Boundary user lacks the grant for this action; ask your Boundary administrator.',
  404: 'Not found, or not visible to your Boundary user.',
};

function apiError(
  address: string,
  method: string,
  path: string,
  status: number,
  body: ApiErrorBody,
): ControllerError {
  const kind = body.kind ?? '';
  const message = body.message ?? `HTTP ${status}`;
  const requestFields: ApiRequestField[] = (body.details?.request_fields ?? []).map((f) => ({
    name: f.name ?? '',
    description: f.description ?? '',
  }));
  const fields = requestFields.map((f) => ` ${f.name}: ${f.description}`).join(';');
  const route = path.split('?')[0] ?? path;
  return new ControllerError(
    'controller.api',
    `${method} ${route} on ${address} failed: ${status} ${kind === '' ? '' : `${kind}: `}${message}${fields}`,
    { status, kind, requestFields, hint: STATUS_HINTS[status] },
  );
}
