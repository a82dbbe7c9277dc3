/** Typed errors of the DNS server, with what happened and how to fix it. */
import { AgentError, type AgentErrorOptions } from '../lib/errors.js';
import type { Clock } from '../lib/clock.js';

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

/** Where handlers report errors worth showing in `status`. */
export interface ErrorRecorder {
  record(error: AgentError): void;
}

export interface RecordedError {
  readonly at: number;
  readonly code: string;
  readonly message: string;
  readonly hint: string | undefined;
}

/** Keeps the last `limit` errors, newest last, for the status command. */
export class RecentErrors implements ErrorRecorder {
  readonly #clock: Clock;
  readonly #limit: number;
  readonly #items: RecordedError[] = [];

  constructor(options: { clock: Clock; limit?: number }) {
    this.#clock = options.clock;
    this.#limit = options.limit ?? 20;
    if (!Number.isInteger(this.#limit) || this.#limit < 1) {
      throw new DnsOptionsError('RecentErrors limit must be a positive integer');
    }
  }

  record(error: AgentError): void {
    this.#items.push({
      at: this.#clock.now(),
      code: error.code,
      message: error.message,
      hint: error.hint,
    });
    if (this.#items.length > this.#limit) this.#items.splice(0, this.#items.length - this.#limit);
  }

  list(): readonly RecordedError[] {
    return [...this.#items];
  }
}
