/**
 * The transparent path put together, once, for the agent and the test beds: the session
 * manager, the connection handler with its connection check, the listeners, and (once the
 * addresses are known) the readiness the DNS alias handler calls.
 *
 * The connection check: a connection to an alias's address is served only for an OS user whose
 * token lists that alias in the current snapshot (empty while the agent is paused).
 */
import type { Logger } from 'pino';
import type { AliasEntry } from '../../alias-cache/index.js';
import type { Target } from '../../boundary/index.js';
import type { Clock, RateLimit } from '../../lib/index.js';
import type { UserNotifier, PeerCredentials } from '../../platform/index.js';
import type { SessionAuthorizer, WorkerConnector } from '../types.js';
import { AliasListeners } from './alias-listeners.js';
import { AliasReadiness } from './alias-readiness.js';
import type { IpAllocator } from './allocator.js';
import { ConnectionHandler } from './connection-handler.js';
import { queryAsker, type QueryAsker } from './query-asker.js';
import { CredentialsNotices } from './credentials-notice.js';
import { SessionManager } from './session-manager.js';

export interface TransparentProxyOptions {
  /** The aliases as the agent serves them now: connections are checked against it. */
  readonly snapshot: () => { lookup(alias: string): AliasEntry | undefined };
  /** The controller's session API as each OS user (ControllerAuthorizer). */
  readonly authorizer: SessionAuthorizer;
  /** Reads a target with `uid`'s token, creating nothing (ControllerAuthorizer.readTarget). */
  readonly readTarget: (uid: number, targetId: string, signal: AbortSignal) => Promise<Target>;
  readonly worker: WorkerConnector;
  /** Who owns a local TCP connection (the platform's peer lookup). */
  readonly peers: PeerCredentials;
  /** Whether an address is this machine's; default: the peer lookup alone decides. */
  readonly isLocalPeer?: ((address: string) => boolean) | undefined;
  readonly clock: Clock;
  readonly log: Logger;
  /** A spare worker connection per session, set up ahead; default true. */
  readonly spareConnections?: boolean | undefined;
  /**
   * The worker connection set up while the caller is identified, for an alias with one OS user
   * and a warm session (see ConnectionHandler); default: as spareConnections.
   */
  readonly earlyStart?: boolean | undefined;
  readonly spareMaxAgeMs?: number | undefined;
  /** New authorizations per OS user; default as SessionManager's. */
  readonly authorizationRate?: RateLimit | undefined;
  readonly idleTimeoutMs?: number | undefined;
  /** Connections at once per listener; default as AliasListeners'. */
  readonly maxConnections?: number | undefined;
  /** Tells a token's owner on their desktop when a session has brokered credentials. */
  readonly notifier?: UserNotifier | undefined;
  /** Failures worth showing in `status`, with the OS user they happened to. */
  readonly onError?: ((message: string, uid: number) => void) | undefined;
}

export interface TransparentProxy {
  readonly sessions: SessionManager;
  readonly listeners: AliasListeners;
  /** Who sent a DNS query (its socket's owner), for whose session it may warm. */
  readonly asker: QueryAsker;
  /**
   * What the DNS alias handler calls, over `allocator`'s addresses (the agent makes its
   * allocator at start, from the saved addresses); `addAddress` puts an address on the machine
   * before it is listened on.
   */
  readiness(allocator: IpAllocator, addAddress?: (ip: string) => Promise<void>): AliasReadiness;
}

export function createTransparentProxy(o: TransparentProxyOptions): TransparentProxy {
  const notices =
    o.notifier === undefined
      ? undefined
      : new CredentialsNotices({ notifier: o.notifier, clock: o.clock, log: o.log });
  const sessions = new SessionManager({
    authorizer: o.authorizer,
    worker: o.worker,
    clock: o.clock,
    log: o.log,
    ...(o.spareConnections === undefined ? {} : { spareConnections: o.spareConnections }),
    ...(o.spareMaxAgeMs === undefined ? {} : { spareMaxAgeMs: o.spareMaxAgeMs }),
    ...(o.authorizationRate === undefined ? {} : { authorizationRate: o.authorizationRate }),
    onEstablished: notices?.established,
  });
  const handler = new ConnectionHandler({
    sessions,
    worker: o.worker,
    peers: o.peers,
    isLocalPeer: o.isLocalPeer,
    clock: o.clock,
    entitled: (uid, alias) => {
      const entry = o.snapshot().lookup(alias);
      return entry?.uids.includes(uid) === true ? entry : undefined;
    },
    ...((o.earlyStart ?? o.spareConnections) !== false
      ? { aliasEntry: (alias: string) => o.snapshot().lookup(alias) }
      : {}),
    log: o.log,
    ...(o.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: o.idleTimeoutMs }),
    ...(o.onError === undefined ? {} : { onError: o.onError }),
  });
  const listeners = new AliasListeners({
    handler,
    log: o.log,
    ...(o.maxConnections === undefined ? {} : { maxConnections: o.maxConnections }),
  });
  const asker = queryAsker({ peers: o.peers, clock: o.clock });
  return {
    sessions,
    listeners,
    asker,
    readiness: (allocator, addAddress) =>
      new AliasReadiness({
        allocator,
        sessions,
        listeners,
        asker,
        readTarget: o.readTarget,
        addAddress,
        log: o.log,
      }),
  };
}
