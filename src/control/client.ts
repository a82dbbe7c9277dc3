/**
 * A typed client for the agent's control API, as the `client-agent` commands use it. It talks
 * plain HTTP to 127.0.0.1 on the agent's port (option → BOUNDARY_CLIENT_AGENT_LISTENING_PORT →
 * 9300). When nothing listens there it says the agent is not running and how to start it.
 */
import http from 'node:http';
import { DEFAULT_LISTEN_PORT, LISTEN_PORT_ENV, parsePort } from '../config/index.js';
import { asError, UsageError } from '../lib/index.js';
import type { SessionAuthorization } from '../boundary/index.js';
import type {
  AgentDetails,
  AgentSessionItem,
  AgentSessionRecord,
  AgentStatus,
  AliasDiagnosis,
} from './agent-api.js';
import { ControlError, notRunning } from './errors.js';

export interface ControlClientOptions {
  /** The agent's port; default from `env`, then 9300. */
  readonly port?: number | undefined;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Per request; default 30 s (adding a token waits for the controller). */
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/** The port to use: the explicit one, else the environment's, else 9300. */
export function resolveControlPort(
  option: string | number | undefined,
  env: Readonly<Record<string, string | undefined>> = {},
): number {
  const [raw, source] =
    option !== undefined
      ? [option, '-client-agent-port']
      : env[LISTEN_PORT_ENV] !== undefined && env[LISTEN_PORT_ENV] !== ''
        ? [env[LISTEN_PORT_ENV], LISTEN_PORT_ENV]
        : [DEFAULT_LISTEN_PORT, 'default'];
  try {
    return parsePort(raw);
  } catch {
    throw new UsageError(`${source} "${String(raw)}" must be a port number from 1 to 65535`);
  }
}

export class ControlClient {
  readonly port: number;
  readonly #timeoutMs: number;

  constructor(options: ControlClientOptions = {}) {
    this.port = resolveControlPort(options.port, options.env);
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  status(signal?: AbortSignal): Promise<AgentStatus> {
    return this.#call<AgentStatus>('GET', '/v1/status', undefined, signal);
  }

  details(signal?: AbortSignal): Promise<AgentDetails> {
    return this.#call<AgentDetails>('GET', '/v1/status/details', undefined, signal);
  }

  /** Pauses the agent; returns its status afterwards. */
  pause(signal?: AbortSignal): Promise<AgentStatus> {
    return this.#call<AgentStatus>('POST', '/v1/pause', undefined, signal);
  }

  resume(signal?: AbortSignal): Promise<AgentStatus> {
    return this.#call<AgentStatus>('POST', '/v1/resume', undefined, signal);
  }

  /** The caller's own sessions. */
  async sessions(signal?: AbortSignal): Promise<readonly AgentSessionItem[]> {
    const body = await this.#call<{ items?: AgentSessionItem[] }>(
      'GET',
      '/v1/sessions',
      undefined,
      signal,
    );
    return body.items ?? [];
  }

  /** A new session for the caller, by alias value or target id, with the caller's token. */
  authorizeSession(target: string, signal?: AbortSignal): Promise<SessionAuthorization> {
    return this.#call<SessionAuthorization>(
      'POST',
      `/v1/targets/${encodeURIComponent(target)}:authorize-session`,
      {},
      signal,
    );
  }

  /** One of the caller's agent-managed sessions. */
  readSession(sessionId: string, signal?: AbortSignal): Promise<AgentSessionRecord> {
    return this.#call<AgentSessionRecord>(
      'GET',
      `/v1/sessions/${encodeURIComponent(sessionId)}`,
      undefined,
      signal,
    );
  }

  cancelSession(sessionId: string, signal?: AbortSignal): Promise<AgentSessionRecord> {
    return this.#call<AgentSessionRecord>(
      'POST',
      `/v1/sessions/${encodeURIComponent(sessionId)}:cancel`,
      {},
      signal,
    );
  }

  /** The daemon's part of `diag ALIAS` for the caller (it may take a while: the controller and worker are asked). */
  diagnoseAlias(alias: string, signal?: AbortSignal): Promise<AliasDiagnosis> {
    return this.#call<AliasDiagnosis>('POST', '/v1/diag/alias', { alias }, signal);
  }

  /**
   * `allowPlainHttp`: the controller address may be `http://` off this machine (sent only when
   * true). Ours also asks the agent to answer once the aliases are listed (`wait_for_aliases`),
   * so that `login` and `add-token` report a working state; Boundary's CLI does not wait.
   */
  async addToken(
    boundaryAddr: string,
    token: string,
    options: { allowPlainHttp?: boolean; signal?: AbortSignal } = {},
  ): Promise<void> {
    const body = {
      boundary_addr: boundaryAddr,
      token,
      wait_for_aliases: true,
      ...(options.allowPlainHttp === true ? { allow_plain_http: true } : {}),
    };
    await this.#call('POST', '/v1/tokens', body, options.signal);
  }

  #call<T>(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: this.port,
          method,
          path,
          agent: false,
          timeout: this.#timeoutMs,
          signal,
          headers: {
            Host: `localhost:${this.port}`,
            Accept: 'application/json',
            ...(payload === undefined
              ? {}
              : {
                  'Content-Type': 'application/json',
                  'Content-Length': Buffer.byteLength(payload),
                }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) {
              req.destroy(this.#unreachable(`${method} ${path}: the answer is too large`));
              return;
            }
            chunks.push(chunk);
          });
          res.on('error', reject);
          res.on('end', () => {
            try {
              resolve(this.#decode(method, path, res.statusCode ?? 0, Buffer.concat(chunks)) as T);
            } catch (err) {
              reject(asError(err));
            }
          });
        },
      );
      req.on('timeout', () => {
        req.destroy(
          this.#unreachable(
            `the agent did not answer ${method} ${path} within ${this.#timeoutMs} ms`,
          ),
        );
      });
      req.on('error', (err: Error & { code?: string }) => {
        if (err instanceof ControlError) reject(err);
        else if (err.code === 'ECONNREFUSED') reject(notRunning(this.port, err));
        else
          reject(
            this.#unreachable(`cannot reach the agent on port ${this.port}: ${err.message}`, err),
          );
      });
      req.end(payload);
    });
  }

  #decode(method: string, path: string, status: number, raw: Buffer): unknown {
    let body: unknown;
    try {
      body = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'));
    } catch (err) {
      throw this.#unreachable(
        `${method} ${path}: the answer on port ${this.port} is not JSON (is something else listening there?)`,
        err,
      );
    }
    if (status >= 200 && status < 300) return body;
    const fields = body as { kind?: unknown; message?: unknown };
    const kind = typeof fields.kind === 'string' ? fields.kind : '';
    const message = typeof fields.message === 'string' ? fields.message : `HTTP ${status}`;
    throw new ControlError('control.api', `the agent refused ${method} ${path}: ${message}`, {
      status,
      kind,
      hint: STATUS_HINTS[status],
    });
  }

  #unreachable(message: string, cause?: unknown): ControlError {
    return new ControlError('control.unreachable', message, { cause });
  }
}

const STATUS_HINTS: Readonly<Record<number, string>> = {
  401: 'The controller did not accept the token: log in again ("client-agent login").',
  403: 'Give the agent your Boundary token first: "client-agent login" or "client-agent add-token".',
};
