/** Typed errors of the DNS server, with what happened and how to fix it. */
import { AgentError, type AgentErrorOptions, type ErrorCode, type Clock } from '../lib/index.js';

/** A listener could not bind its address and port. */
export class DnsBindError extends AgentError {
  readonly address: string;
  readonly port: number;
  readonly transport: 'udp' | 'tcp';
  readonly reason: string | undefined;

  constructor(
    address: string,
    port: number,
    transport: 'udp' | 'tcp',
    cause: unknown,
    owner: string | undefined,
  ) {
    const reason = (cause as NodeJS.ErrnoException | undefined)?.code;
    const by = owner === undefined || owner === '' ? '' : ` by ${owner}`;
    const where = `port ${port} on ${address}`;
    let message: string;
    let hint: string;
    switch (reason) {
      case 'EADDRINUSE':
        message = `${where} is in use${by} (${transport.toUpperCase()})`;
        hint = 'Stop the other DNS server on that address, or let the agent use another address.';
        break;
      case 'EACCES':
      case 'EPERM':
        message = `not allowed to listen on ${where} (${transport.toUpperCase()})`;
        hint = 'Ports below 1024 need root: run the daemon as root (sudo).';
        break;
      case 'EADDRNOTAVAIL':
        message = `cannot listen on ${where}: ${address} is not an address of this machine`;
        hint = 'The agent adds its addresses before starting the DNS server; check the interface.';
        break;
      default:
        message = `cannot listen on ${where} (${transport.toUpperCase()}): ${
          (cause as Error | undefined)?.message ?? String(cause)
        }`;
        hint = 'Check the address and that nothing else holds the port.';
    }
    super('dns.bind', message, { hint, cause });
    this.address = address;
    this.port = port;
    this.transport = transport;
    this.reason = reason;
  }
}

/** The options given to a DNS component are wrong (a programming or configuration error). */
export class DnsOptionsError extends AgentError {
  constructor(message: string, options: AgentErrorOptions = {}) {
    super('dns.options', message, options);
  }
}

/** Asking the upstream resolvers failed. */
export class UpstreamError extends AgentError {
  constructor(message: string, options: AgentErrorOptions = {}) {
    super('dns.upstream', message, {
      hint:
        options.hint ??
        'Check that the upstream DNS servers (override_upstream_dns_servers, or the ones configured before the agent) are reachable.',
      cause: options.cause,
    });
  }
}

/** Making an alias reachable (authorizing a session, opening a listener) failed or took too long. */
export class AliasPrepareError extends AgentError {
  readonly alias: string;
  constructor(alias: string, message: string, options: AgentErrorOptions = {}) {
    super('dns.alias_prepare', message, options);
    this.alias = alias;
  }
}

/**
 * Whom a recorded error is about. Root and the agent's own user see every error with its
 * detail; any other user sees the errors about no one in particular and those about them.
 */
export interface ErrorAudience {
  /**
   * The local OS users the error is about (an alias's owners, the user whose token or
   * connection failed); absent: an agent problem about no one user.
   */
  readonly uids?: readonly number[] | undefined;
  /** Shown to root and the agent's user only: what names other users' lookups (a query name). */
  readonly detail?: string | undefined;
  /**
   * The cause: errors with the same key are one entry, counted, with the latest message.
   * Default: the code and the message.
   */
  readonly key?: string | undefined;
}

/** Where handlers report errors worth showing in `status`: agent problems, not the network's answers. */
export interface ErrorRecorder {
  record(error: AgentError, audience?: ErrorAudience): void;
}

export interface RecordedError {
  /** The last time it happened. */
  readonly at: number;
  readonly firstAt: number;
  readonly count: number;
  readonly code: ErrorCode;
  readonly message: string;
  readonly hint: string | undefined;
  /** Absent: about no one user. */
  readonly uids: readonly number[] | undefined;
  readonly detail: string | undefined;
}

/** Who asks for the errors: their uid, and whether they may see everyone's (root, the agent's user). */
export interface ErrorViewer {
  readonly uid: number;
  readonly privileged: boolean;
}

/** Keeps the last `limit` causes, each counted, newest last, for the status command. */
export class RecentErrors implements ErrorRecorder {
  readonly #clock: Clock;
  readonly #limit: number;
  /** By key, in the order they last happened. */
  readonly #items = new Map<string, RecordedError>();

  constructor(options: { clock: Clock; limit?: number | undefined }) {
    this.#clock = options.clock;
    this.#limit = options.limit ?? 20;
    if (!Number.isInteger(this.#limit) || this.#limit < 1) {
      throw new DnsOptionsError('RecentErrors limit must be a positive integer');
    }
  }

  record(error: AgentError, audience: ErrorAudience = {}): void {
    const key = audience.key ?? `${error.code}\n${error.message}`;
    const now = this.#clock.now();
    const before = this.#items.get(key);
    this.#items.delete(key);
    this.#items.set(key, {
      at: now,
      firstAt: before?.firstAt ?? now,
      count: (before?.count ?? 0) + 1,
      code: error.code,
      message: error.message,
      hint: error.hint,
      uids: mergeUids(before, audience.uids),
      detail: audience.detail,
    });
    if (this.#items.size > this.#limit) {
      const oldest = this.#items.keys().next();
      if (oldest.done !== true) this.#items.delete(oldest.value);
    }
  }

  /** Every entry (or those `viewer` may see, detail only for the privileged), newest last. */
  list(viewer?: ErrorViewer): readonly RecordedError[] {
    const all = [...this.#items.values()];
    if (viewer === undefined || viewer.privileged) return all;
    return all
      .filter((e) => e.uids === undefined || e.uids.includes(viewer.uid))
      .map((e) => ({ ...e, detail: undefined }));
  }

  /** The lines of `status` for `viewer`, newest first: "message (3 times, last at …) (last: …)". */
  forStatus(viewer: ErrorViewer): string[] {
    return this.list(viewer)
      .map((e) => {
        const times =
          e.count > 1 ? ` (${e.count} times, last at ${new Date(e.at).toISOString()})` : '';
        const detail = e.detail === undefined ? '' : ` (last: ${e.detail})`;
        return `${e.message}${times}${detail}`;
      })
      .reverse();
  }
}

/** An entry about no one stays so; otherwise the users it is about add up. */
function mergeUids(
  before: RecordedError | undefined,
  uids: readonly number[] | undefined,
): readonly number[] | undefined {
  if (uids === undefined || (before !== undefined && before.uids === undefined)) return undefined;
  if (before?.uids === undefined) return [...uids];
  return [...new Set([...before.uids, ...uids])].sort((a, b) => a - b);
}
