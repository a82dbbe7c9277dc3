/**
 * The DNS side wired together: a server on the agent's addresses with the chain
 * probe → reverse → alias → forward (BADVERS, FORMERR and NOTIMP come before it, from the
 * parser), and the reload of its two reloadable settings.
 */
import type { AgentConfig, UpstreamServer } from '../config/index.js';
import { hostPort } from '../lib/index.js';
import { buildChain } from './handler.js';
import { AliasHandler, type AliasHandlerOptions } from './handlers/alias.js';
import { ForwardHandler, type ForwardHandlerOptions } from './handlers/forward.js';
import { ProbeHandler } from './handlers/probe.js';
import { ReverseHandler, type ProxyAddresses } from './handlers/reverse.js';
import { pooledRandomInt } from './random.js';
import { DnsServer, type DnsServerOptions } from './server.js';
import type { UdpBatchAddon } from './udp-batch.js';

/** The settings of AgentConfig the DNS side uses; both reload on SIGHUP. */
export type DnsConfig = Pick<AgentConfig, 'dnsRequestTimeoutMs' | 'overrideUpstreamDnsServers'>;

/** The alias handler's options (see AliasHandlerOptions), the forwarder's, and the server's. */
export interface DnsServiceOptions
  extends
    Pick<
      AliasHandlerOptions,
      'snapshot' | 'preparer' | 'clock' | 'log' | 'errors' | 'alwaysForward' | 'unlisted'
    >,
    Partial<Pick<ForwardHandlerOptions, 'tryTimeoutMs' | 'randomInt'>> {
  readonly config: DnsConfig;
  /** The proxy addresses, whose reverse names the agent answers; without it, all are forwarded. */
  readonly proxyAddresses?: ProxyAddresses | undefined;
  /** While true (the agent is paused), reverse names of proxy addresses are forwarded too. */
  readonly paused?: (() => boolean) | undefined;
  readonly addresses: readonly string[];
  readonly port: number;
  /** The resolvers configured before the agent took over (from the platform). */
  readonly systemUpstreams: readonly UpstreamServer[];
  /**
   * Batched UDP for the client and upstream sockets (see resolveUdpIo), loaded by the platform;
   * without it, Node's dgram.
   */
  readonly udpBatch?: UdpBatchAddon | undefined;
  readonly server?: Pick<
    DnsServerOptions,
    | 'maxInFlight'
    | 'tcp'
    | 'udpBufferBytes'
    | 'describePortOwner'
    | 'isLocalClient'
    | 'refusedRate'
    | 'refusedTotalRate'
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
      unlisted: options.unlisted,
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
      udpBatch: options.udpBatch,
    });
    const ownAddresses = (): string[] => this.server.addresses().map((a) => a.address);
    this.server = new DnsServer({
      ...options.server,
      udpBatch: options.udpBatch,
      addresses: options.addresses,
      port: options.port,
      handle: buildChain([
        new ProbeHandler({ addresses: ownAddresses }),
        ...(options.proxyAddresses === undefined
          ? []
          : [
              new ReverseHandler({
                addresses: options.proxyAddresses,
                snapshot: options.snapshot,
                ownAddresses,
                paused: options.paused,
              }),
            ]),
        this.alias,
        this.forward,
      ]),
      clock: options.clock,
      log: options.log,
    });
  }

  /** The server's bound `address:port`s, IPv6 in brackets (after start). */
  endpoints(): string[] {
    return this.server.addresses().map((a) => hostPort(a.address, a.port));
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
