/**
 * What the DNS alias handler calls before answering: make the alias reachable. The first time,
 * that authorizes a session (which tells the port: default_client_port, else the target's) and
 * opens listeners on the alias's stable addresses; afterwards the port stays known and the
 * listeners stay up, so the answer is immediate and later connections authorize as they need.
 */
import type { Logger } from 'pino';
import type { AliasEntry } from '../../alias-cache/snapshot.js';
import { AgentError } from '../../lib/errors.js';
import type { AssignedAddresses, IpAllocator } from './allocator.js';
import type { AliasListeners } from './alias-listeners.js';
import type { SessionManager } from './session-manager.js';

export interface AliasReadinessOptions {
  readonly allocator: IpAllocator;
  readonly sessions: SessionManager;
  readonly listeners: AliasListeners;
  /** Puts a proxy address on the machine before listening on it (platform); none on loopback. */
  readonly addAddress?: ((ip: string) => Promise<void>) | undefined;
  readonly log: Logger;
}

export class AliasReadiness {
  readonly #o: AliasReadinessOptions;
  readonly #log: Logger;
  /** Aliases whose listeners are up. */
  readonly #ready = new Set<string>();
  readonly #preparing = new Map<string, Promise<AssignedAddresses>>();

  constructor(options: AliasReadinessOptions) {
    this.#o = options;
    this.#log = options.log.child({ component: 'proxy' });
  }

  prepare(
    alias: AliasEntry,
    uidHint: number | undefined,
    signal: AbortSignal,
  ): AssignedAddresses | Promise<AssignedAddresses> {
    const addresses = this.#o.allocator.assign(alias.value);
    if (this.#ready.has(alias.value)) return addresses;
    let preparing = this.#preparing.get(alias.value);
    if (preparing === undefined) {
      preparing = this.#prepare(alias, uidHint, addresses, signal).finally(() =>
        this.#preparing.delete(alias.value),
      );
      this.#preparing.set(alias.value, preparing);
    }
    return preparing;
  }

  async #prepare(
    alias: AliasEntry,
    uidHint: number | undefined,
    addresses: AssignedAddresses,
    signal: AbortSignal,
  ): Promise<AssignedAddresses> {
    const uid = uidHint !== undefined && alias.uids.includes(uidHint) ? uidHint : alias.uids[0];
    if (uid === undefined)
      throw new AgentError('proxy.no_owner', `no OS user holds a token for ${alias.value}`);
    const session = await this.#o.sessions.acquire(uid, alias, signal);
    for (const ip of [addresses.v4, addresses.v6]) {
      if (ip === undefined) continue;
      await this.#o.addAddress?.(ip);
      await this.#o.listeners.ensure(ip, session.port, alias.value);
    }
    this.#ready.add(alias.value);
    this.#log.debug({ alias: alias.value, addresses, port: session.port }, 'Alias reachable.');
    return addresses;
  }
}
