/**
 * The DNS side wired together: a server on the agent's addresses with the chain
 * alias → forward, and the reload of its two reloadable settings.
 */
import type { Logger } from 'pino';
import type { AliasSnapshot } from '../alias-cache/index.js';
import type { AgentConfig, UpstreamServer } from '../config/index.js';
import type { Clock } from '../lib/clock.js';
import type { ErrorRecorder } from './errors.js';
import { buildChain } from './handler.js';
import { AliasHandler, type AliasPreparer } from './handlers/alias.js';
import { ForwardHandler } from './handlers/forward.js';
import type { DnsQuery } from './query.js';
import { pooledRandomInt } from './random.js';
import { DnsServer, type DnsServerOptions } from './server.js';

/** The settings of AgentConfig the DNS side uses; both reload on SIGHUP. */
export type DnsConfig = Pick<AgentConfig, 'dnsRequestTimeoutMs' | 'overrideUpstreamDnsServers'>;

export interface DnsServiceOptions {
  readonly config: DnsConfig;
  readonly addresses: readonly string[];
  readonly port: number;
  /** The resolvers configured before the agent took over (from the platform). */
  readonly systemUpstreams: readonly UpstreamServer[];
  readonly snapshot: () => AliasSnapshot;
  readonly preparer: AliasPreparer;
  readonly clock: Clock;
  readonly log: Logger;
  readonly errors?: ErrorRecorder | undefined;
  /** Names always forwarded (the controller's host name). */
  readonly alwaysForward?: ((name: string) => boolean) | undefined;
  readonly uidHint?: ((q: DnsQuery) => number | undefined) | undefined;
  /** Per-upstream try timeout (default 2 s). */
  readonly tryTimeoutMs?: number | undefined;
  /** A uniformly random integer in [0, limit) (default: from node:crypto, pooled). */
  readonly randomInt?: ((limit: number) => number) | undefined;
  readonly server?: Pick<
    DnsServerOptions,
    'maxInFlight' | 'tcp' | 'udpBufferBytes' | 'describePortOwner'
  >;
}

export class DnsService {
  readonly server: DnsServer;
  readonly alias: AliasHandler;
  readonly forward: ForwardHandler;

  constructor(options: DnsServiceOptions) {
    this.alias = new AliasHandler({
      snapshot: options.snapshot,
      preparer: options.preparer,
      requestTimeoutMs: options.config.dnsRequestTimeoutMs,
      clock: options.clock,
      log: options.log,
      errors: options.errors,
      alwaysForward: options.alwaysForward,
      uidHint: options.uidHint,
    });
    this.forward = new ForwardHandler({
      overrideUpstreams: options.config.overrideUpstreamDnsServers,
      systemUpstreams: options.systemUpstreams,
      requestTimeoutMs: options.config.dnsRequestTimeoutMs,
      tryTimeoutMs: options.tryTimeoutMs,
      ownAddresses: () => this.server.addresses(),
      clock: options.clock,
      log: options.log,
      randomInt: options.randomInt ?? pooledRandomInt(),
      errors: options.errors,
    });
    this.server = new DnsServer({
      ...options.server,
      addresses: options.addresses,
      port: options.port,
      handle: buildChain([this.alias, this.forward]),
      clock: options.clock,
      log: options.log,
    });
  }

  async start(): Promise<void> {
    try {
      await this.server.start();
    } catch (error) {
      this.forward.close();
      throw error;
    }
  }

  /** Applies reloaded settings (SIGHUP). */
  reload(config: DnsConfig): void {
    this.alias.setRequestTimeout(config.dnsRequestTimeoutMs);
    this.forward.update({
      requestTimeoutMs: config.dnsRequestTimeoutMs,
      overrideUpstreams: config.overrideUpstreamDnsServers,
    });
  }

  /** Tells the forwarder which resolvers the machine had before the agent (from the platform). */
  setSystemUpstreams(upstreams: readonly UpstreamServer[]): void {
    this.forward.update({ systemUpstreams: upstreams });
  }

  async close(): Promise<void> {
    await this.server.close();
    this.alias.close();
    this.forward.close();
  }
}
