/**
 * One API client per controller address, shared by the alias cache, the session authorizer and
 * diag, and the agent's rules for where a token may go: never over plain HTTP off this machine
 * unless its owner allowed that address (`add-token --allow-plain-http`), and never the
 * controller's own host name answered as an alias (the agent must keep reaching its controller).
 */
import type { Logger } from 'pino';
import { type Clock, normalizeName } from '../lib/index.js';
import { ControllerClient, PlainHttpError, sendsInClear } from './controller-client.js';

/** The warnings about an unverified or unencrypted controller, as the log and `status` word them. */
export const TLS_UNVERIFIED_LOG =
  'TLS certificate verification of the controller is OFF: anyone on the network path can read the Boundary tokens the agent sends. Development only: set controller_ca_file instead.';
export const TLS_UNVERIFIED_NOTICE =
  "the controller's TLS certificate is not verified (controller_tls_insecure = true): tokens can be read on the network path";

export function plainHttpNotice(address: string): string {
  return `your token goes to ${address} over plain HTTP (allowed with --allow-plain-http): it can be read on the network path`;
}

export interface ControllerPoolOptions {
  /** controller_ca_file */
  readonly caFile: string | undefined;
  /** controller_tls_insecure */
  readonly insecure: boolean;
  /** Bounds each request of the clients; default the system clock. */
  readonly clock?: Clock | undefined;
  readonly log: Logger;
}

export class ControllerPool {
  readonly #o: ControllerPoolOptions;
  readonly #clients = new Map<string, ControllerClient>();
  /** Controller addresses a token's owner allowed over plain HTTP. */
  readonly #plainHttpAllowed = new Set<string>();
  #controllerHost: { readonly address: string; readonly host: string } | undefined;

  constructor(options: ControllerPoolOptions) {
    this.#o = options;
  }

  client(address: string): ControllerClient {
    let client = this.#clients.get(address);
    if (client === undefined) {
      client = new ControllerClient({
        address,
        caFile: this.#o.caFile,
        insecure: this.#o.insecure,
        allowPlainHttp: this.#plainHttpAllowed.has(address),
        clock: this.#o.clock,
      });
      this.#clients.set(address, client);
    }
    return client;
  }

  /** Throws PlainHttpError unless a token may go to `address` (normalized); logs a first allowance. */
  admit(uid: number, address: string, allowPlainHttp: boolean): void {
    if (!sendsInClear(address)) return;
    if (!allowPlainHttp) throw new PlainHttpError(address);
    if (!this.#plainHttpAllowed.has(address)) {
      this.#o.log.warn(
        { uid, controller: address },
        'A token was allowed over plain HTTP by its owner: it can be read on the network path.',
      );
    }
    this.#plainHttpAllowed.add(address);
  }

  /** Whether `name` is the host of `address` (the controller of the tokens), asked on every alias answer. */
  isControllerName(name: string, address: string | undefined): boolean {
    if (address === undefined) return false;
    // Parse the controller's host name only when the address changes.
    if (this.#controllerHost?.address !== address) {
      this.#controllerHost = { address, host: normalizeName(new URL(address).hostname) };
    }
    return this.#controllerHost.host === normalizeName(name);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#clients.values()].map((c) => c.close()));
    this.#clients.clear();
  }
}
