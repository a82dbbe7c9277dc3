/**
 * What can go wrong between the agent and a Boundary worker, as typed errors with stable codes,
 * and the mapping from the worker's WebSocket close codes and reasons to them (the codes and
 * reasons Boundary's worker closes with, `internal/daemon/worker/handler.go`).
 */
import { AgentError, type AgentErrorOptions } from '../lib/index.js';

export type WorkerErrorKind =
  /** TCP connect refused, timed out, or the name did not resolve. */
  | 'unreachable'
  /** The TLS handshake failed: the worker does not know the session or refused its credentials. */
  | 'unauthorized'
  /** The worker did not present the session's own certificate. */
  | 'untrusted'
  /** Another client holds the session (its tofu token differs). */
  | 'session_in_use'
  /** The worker refused another connection on the session. */
  | 'connection_limit'
  /** The session is no longer pending and was never activated by us. */
  | 'session_not_pending'
  /** The worker could not connect to the target. */
  | 'target_unreachable'
  /** A step took longer than allowed. */
  | 'timeout'
  /** Anything else the worker did that the protocol does not expect. */
  | 'protocol';

export interface WorkerErrorOptions extends AgentErrorOptions {
  /** The worker's `host:port`, when known. */
  readonly address?: string | undefined;
  readonly closeCode?: number | undefined;
  readonly closeReason?: string | undefined;
}

const HINTS: Record<WorkerErrorKind, string> = {
  unreachable:
    'Check that the worker address in the session authorization is reachable from this machine (firewall, VPN, DNS).',
  unauthorized:
    'Authorize a new session; this one may have ended, been canceled, or been authorized for another worker.',
  untrusted:
    'Something other than the session’s worker answered at this address; check for a proxy or a wrong worker address.',
  session_in_use:
    'Another client already uses this session. Authorize a new session for this connection.',
  connection_limit:
    'The session has used its connections (or has ended). Authorize a new session for more connections.',
  session_not_pending:
    'The session ended or was canceled before it was used. Authorize a new session.',
  target_unreachable:
    'The worker could not connect to the target host and port; check that the target service is up and reachable from the worker.',
  timeout: 'Check the network path to the worker, then try again.',
  protocol:
    'The worker answered in a way this client does not understand; check that it is a Boundary worker of a supported version.',
};

export class WorkerError extends AgentError {
  readonly kind: WorkerErrorKind;
  readonly address: string | undefined;
  readonly closeCode: number | undefined;
  readonly closeReason: string | undefined;

  constructor(kind: WorkerErrorKind, message: string, options: WorkerErrorOptions = {}) {
    super(`worker.${kind}`, message, {
      hint: options.hint ?? HINTS[kind],
      cause: options.cause,
    });
    this.kind = kind;
    this.address = options.address;
    this.closeCode = options.closeCode;
    this.closeReason = options.closeReason;
  }
}

/**
 * The error a WebSocket close means, or undefined for a normal close (1000, or 1005 "no status").
 * `address` names the worker in the message.
 */
export function closeError(code: number, reason: string, address: string): WorkerError | undefined {
  if (code === 1000 || code === 1005) return undefined;
  const opts = { address, closeCode: code, closeReason: reason };
  const said = reason === '' ? `close code ${code}` : `close code ${code}, "${reason}"`;
  if (code === 1008 && reason === 'tofu token not allowed') {
    return new WorkerError('session_in_use', 'session is already in use', opts);
  }
  if (code === 1011 && reason === 'unable to authorize connection') {
    return new WorkerError(
      'connection_limit',
      `connection limit reached: the worker at ${address} refused another connection on this session`,
      opts,
    );
  }
  if (code === 1011 && reason === 'refusing to activate session') {
    return new WorkerError(
      'session_not_pending',
      'the session is no longer pending: it ended or was canceled before its first connection',
      opts,
    );
  }
  if (code === 3000) {
    return new WorkerError(
      'target_unreachable',
      `the worker could not reach the target (worker ${address}: ${said})`,
      opts,
    );
  }
  if (code === 1006) {
    return new WorkerError('protocol', `the connection to the worker at ${address} was lost`, opts);
  }
  return new WorkerError(
    'protocol',
    `the worker at ${address} closed the connection (${said})`,
    opts,
  );
}

/** Refusals after which the session serves no more connections (limit, canceled, taken, unknown). */
const SESSION_OVER: ReadonlySet<WorkerErrorKind> = new Set([
  'connection_limit',
  'session_in_use',
  'session_not_pending',
  'unauthorized',
]);

/** Whether the worker's answer means the session cannot serve another connection. */
export function endsSession(error: unknown): error is WorkerError {
  return error instanceof WorkerError && SESSION_OVER.has(error.kind);
}
