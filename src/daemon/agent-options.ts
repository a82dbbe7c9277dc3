/**
 * What an agent is started with. Its profile is what it needs from the machine it runs on, given
 * by the daemon that starts it: the root daemon's system profile
 * (src/platform/system-profile.ts) or the unprivileged demo's loopback one (src/daemon/dev.ts).
 * The same agent runs on both.
 */
import type { Logger } from 'pino';
import type { AgentConfig, UpstreamServer } from '../config/index.js';
import type { AliasCheckOptions } from '../diag/index.js';
import type { Clock, AgentLogger } from '../lib/index.js';
import type { PeerCredentials, UserNotifier } from '../platform/index.js';

export interface AgentProfile {
  readonly name: 'system' | 'dev';
  /** The interface the agent's addresses go on (system profile). */
  readonly interface?: string | undefined;
  readonly dnsAddresses: readonly string[];
  readonly dnsPort: number;
  /** The resolvers the machine used before the agent: where other names go. */
  readonly systemUpstreams: readonly UpstreamServer[];
  /** Puts a proxy address on the machine before the proxy listens on it (none on loopback). */
  readonly addAddress?: ((ip: string) => Promise<void>) | undefined;
  /** An address the machine already uses for something else, never given to an alias. */
  readonly isAddressTaken?: ((ip: string) => boolean) | undefined;
  /** Names who holds a port the DNS server cannot bind (for the error message). */
  readonly describePortOwner?:
    ((address: string, port: number) => Promise<string | undefined>) | undefined;
  /**
   * Every alias answers this one address (no IPv6) instead of its own from v4_prefix: the macOS
   * demo without root, where 127.0.0.1 is the only loopback address.
   */
  readonly sharedProxyAddress?: string | undefined;
  /** What the profile's own state makes worse or repaired (addresses on loopback...). */
  readonly warnings?: (() => readonly string[]) | undefined;
  /** Tells `listener` when the network's resolvers change (other names go there from then on). */
  readonly onUpstreams?: ((listener: (u: readonly UpstreamServer[]) => void) => void) | undefined;
  /** Re-checks the addresses, the link and the resolver now (after a resume from sleep). */
  readonly recheck?: (() => Promise<void>) | undefined;
  /**
   * Makes the OS use our DNS, and gives the previous resolvers back (none in the demo);
   * `setAliases` gets every alias snapshot (split DNS routes those names to the agent).
   */
  readonly resolver?:
    | {
        apply(): Promise<void>;
        restore(): Promise<void>;
        setAliases?(names: readonly string[]): Promise<void>;
      }
    | undefined;
}

export interface AgentOptions {
  readonly config: AgentConfig;
  readonly profile: AgentProfile;
  readonly clock: Clock;
  readonly log: Logger;
  /** The process logger, reconfigured on reload (level, file, stdout); absent in some tests. */
  readonly logger?: Pick<AgentLogger, 'configure'> | undefined;
  readonly peers: PeerCredentials;
  readonly version: string;
  /** Timing of `client-agent diag ALIAS` (tests shorten the wait for a target failure). */
  readonly diag?: AliasCheckOptions | undefined;
  /** The self-pause rule; default 10 failures in 60 s. */
  readonly selfPause?: { readonly limit: number; readonly windowMs: number };
  /** Tells a token's owner on their desktop when a session has brokered credentials; none: no notice. */
  readonly notifier?: UserNotifier | undefined;
}
