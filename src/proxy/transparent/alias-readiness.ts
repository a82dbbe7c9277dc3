/**
 * What the DNS alias handler calls before answering: make the alias reachable, i.e. know its
 * port and open listeners on the alias's stable addresses. Afterwards the port stays known and
 * the listeners stay up, so the answer is immediate and later connections authorize as they need.
 *
 * Whose session a query warms: only the asker's own. When the local OS user whose socket sent
 * the query holds a token entitled to the alias, the port comes from authorizing that user's
 * session, which their first connection then uses. Anyone else (another user, or an asker that
 * cannot be told, e.g. behind systemd-resolved's stub or dnsmasq) creates no session: the port
 * comes from reading the alias's target with a holder's token (or finding it in their target
 * listing), which creates nothing, and the first connection authorizes the connecting user's own
 * session. If no holder may read or list the target the preparation fails: without a port there
 * is nothing to listen on.
 */
import type { Logger } from 'pino';
import type { AliasEntry } from '../../alias-cache/index.js';
import type { Target } from '../../boundary/index.js';
import { AgentError } from '../../lib/index.js';
import type { AssignedAddresses, IpAllocator } from './allocator.js';
import type { AliasListeners } from './alias-listeners.js';
import type { QueryAsker, QueryOrigin } from './query-asker.js';
import { targetListenPort, type SessionManager } from './session-manager.js';

export interface AliasReadinessOptions {
  readonly allocator: IpAllocator;
  readonly sessions: SessionManager;
  readonly listeners: AliasListeners;
  /** Who asked the query (queryAsker); asked only when the alias is not reachable yet. */
  readonly asker: QueryAsker;
  /** Reads a target with `uid`'s token, creating nothing (ControllerAuthorizer.readTarget). */
  readonly readTarget: (uid: number, targetId: string, signal: AbortSignal) => Promise<Target>;
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
    origin: QueryOrigin,
    signal: AbortSignal,
  ): AssignedAddresses | Promise<AssignedAddresses> {
    const addresses = this.#o.allocator.assign(alias.value);
    if (this.#ready.has(alias.value)) return addresses;
    let preparing = this.#preparing.get(alias.value);
    if (preparing === undefined) {
      preparing = this.#prepare(alias, origin, addresses, signal).finally(() =>
        this.#preparing.delete(alias.value),
      );
      this.#preparing.set(alias.value, preparing);
    }
    return preparing;
  }

  async #prepare(
    alias: AliasEntry,
    origin: QueryOrigin,
    addresses: AssignedAddresses,
    signal: AbortSignal,
  ): Promise<AssignedAddresses> {
    if (alias.uids.length === 0)
      throw new AgentError('proxy.no_owner', `no OS user holds a token for ${alias.value}`);
    const asker = await this.#o.asker(origin);
    let port: number;
    if (asker !== undefined && alias.uids.includes(asker)) {
      port = (await this.#o.sessions.acquire(asker, alias, signal)).port;
      this.#log.debug({ alias: alias.value, uid: asker }, "Warmed the asker's own session.");
    } else {
      port = await this.#readPort(alias, signal);
      this.#log.debug(
        { alias: alias.value, asker: asker ?? 'unknown' },
        'Read the target for its port: the asker holds no token for it, no session made.',
      );
    }
    for (const ip of [addresses.v4, addresses.v6]) {
      if (ip === undefined) continue;
      await this.#o.addAddress?.(ip);
      await this.#o.listeners.ensure(ip, port, alias.value);
    }
    this.#ready.add(alias.value);
    this.#log.debug({ alias: alias.value, addresses, port }, 'Alias reachable.');
    return addresses;
  }

  /**
   * The port from reading the target with each holder's token in turn until one may (users'
   * grants differ); the first refusal is reported when none may.
   */
  async #readPort(alias: AliasEntry, signal: AbortSignal): Promise<number> {
    const target = alias.destinationId;
    let refused: unknown;
    for (const uid of target === '' ? [] : alias.uids) {
      try {
        const port = targetListenPort(await this.#o.readTarget(uid, target, signal));
        if (port !== 0) return port;
        refused ??= new Error(`target ${target} has no port`);
      } catch (err) {
        if (signal.aborted) throw err;
        refused ??= err;
      }
    }
    throw new TargetUnreadableError(alias.value, target, refused);
  }
}

/** No session may be made for this asker, and no holder's token may read the alias's target. */
export class TargetUnreadableError extends AgentError {
  constructor(alias: string, target: string, cause: unknown) {
    super(
      'proxy.target_unreadable',
      `could not learn the port of ${alias} without a session: the query did not come from a user holding a token for it, and reading its target${target === '' ? '' : ` ${target}`} failed${cause instanceof Error ? ` (${cause.message})` : ''}`,
      {
        hint: `Give the alias's users the "read" action on the target, or the "list" action on targets (as Boundary Desktop needs), as well as "authorize-session" (queries through a local forwarder such as systemd-resolved cannot be told apart by user), or look the name up directly at the agent as the token's user.`,
        cause,
      },
    );
  }
}
