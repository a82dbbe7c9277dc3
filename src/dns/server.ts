/**
 * The DNS server: UDP and TCP listeners on a list of addresses and one port, each message
 * parsed (header and question only), bad ones dropped or answered FORMERR/NOTIMP, good ones
 * passed to the handler chain; UDP answers that do not fit the client are truncated (TC).
 */
import { setMaxListeners } from 'node:events';
import net from 'node:net';
import type { Logger } from 'pino';
import { type Clock, RateLimiter, type RateLimit } from '../lib/index.js';
import { DnsBindError, DnsOptionsError } from './errors.js';
import { isPromiseLike } from './deadline.js';
import { servfail, type DnsAnswer, type MaybePromise, type Next } from './handler.js';
import { parseQuery, type ClientAddress, type DnsQuery, type Transport } from './query.js';
import { DEFAULT_TCP_LIMITS, TcpListener, type TcpLimits } from './tcp-listener.js';
import type { UdpBatchAddon } from './udp-batch.js';
import { UdpListener, type MessageHandler } from './udp-listener.js';
import { fitUdp, headerOnlyResponse, RCODE } from './wire.js';

export interface DnsServerOptions {
  /** IPv4 and IPv6 addresses to listen on. */
  readonly addresses: readonly string[];
  /** 53 in production; 0 picks a free port (the same one for every address and both transports). */
  readonly port: number;
  /** The handler chain (see buildChain). */
  readonly handle: Next;
  readonly clock: Clock;
  readonly log: Logger;
  /** Queries being handled at once; beyond it UDP queries are dropped, TCP ones get SERVFAIL (default 1024). */
  readonly maxInFlight?: number | undefined;
  readonly tcp?: Partial<TcpLimits> | undefined;
  readonly udpBufferBytes?: number | undefined;
  /** Batched UDP (see resolveUdpIo); without it, Node's dgram. */
  readonly udpBatch?: UdpBatchAddon | undefined;
  /** Names the process holding a port ("systemd-resolved (pid 512)"), for bind errors. */
  readonly describePortOwner?:
    ((address: string, port: number) => Promise<string | undefined>) | undefined;
  /**
   * Whether a client address is one of this machine's. Queries from anywhere else are answered
   * REFUSED without reaching the handlers (TCP connections are reset at once). Default: all are.
   */
  readonly isLocalClient?: ((address: string) => boolean) | undefined;
  /** REFUSED answers per foreign source; beyond it their queries are dropped (default 5 at once, 1/s). */
  readonly refusedRate?: RateLimit | undefined;
  /** REFUSED answers to all foreign sources together (default 50 at once, 20/s). */
  readonly refusedTotalRate?: RateLimit | undefined;
}

export interface DnsServerStats {
  received: number;
  answered: number;
  dropped: number;
  malformed: number;
  overloaded: number;
  /** Queries from addresses that are not this machine's (answered REFUSED or dropped). */
  refused: number;
}

export interface BoundAddress {
  readonly address: string;
  readonly port: number;
}

/** How often a port-0 start retries when the picked port is taken on another address. */
const PORT_ZERO_ATTEMPTS = 5;
const DEFAULT_REFUSED_RATE: RateLimit = { burst: 5, perSecond: 1 };
const DEFAULT_REFUSED_TOTAL_RATE: RateLimit = { burst: 50, perSecond: 20 };

export class DnsServer {
  readonly #options: DnsServerOptions;
  readonly #log: Logger;
  readonly #maxInFlight: number;
  readonly #tcpLimits: TcpLimits;
  readonly #isLocal: ((address: string) => boolean) | undefined;
  readonly #refusedRate: RateLimiter;
  readonly #refusedTotal: RateLimiter;
  #inFlight = 0;
  /** Given to the handlers; aborted by close(). */
  #lifetime: AbortController;
  #listeners: (UdpListener | TcpListener)[] = [];
  #bound: readonly BoundAddress[] = Object.freeze([]);
  #port = 0;
  readonly stats: DnsServerStats = {
    received: 0,
    answered: 0,
    dropped: 0,
    malformed: 0,
    overloaded: 0,
    refused: 0,
  };

  constructor(options: DnsServerOptions) {
    this.#options = options;
    this.#log = options.log.child({ component: 'dns' });
    this.#maxInFlight = options.maxInFlight ?? 1024;
    this.#tcpLimits = { ...DEFAULT_TCP_LIMITS, ...options.tcp };
    this.#isLocal = options.isLocalClient;
    this.#refusedRate = new RateLimiter({
      ...(options.refusedRate ?? DEFAULT_REFUSED_RATE),
      clock: options.clock,
    });
    this.#refusedTotal = new RateLimiter({
      ...(options.refusedTotalRate ?? DEFAULT_REFUSED_TOTAL_RATE),
      clock: options.clock,
      maxKeys: 1,
    });
    this.#lifetime = this.#newLifetime();
    if (options.addresses.length === 0)
      throw new DnsOptionsError('the DNS server needs at least one address');
    for (const address of options.addresses) {
      if (net.isIP(address) === 0)
        throw new DnsOptionsError(`"${address}" is not an IP address to listen on`);
    }
    if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
      throw new DnsOptionsError(`DNS port must be 0 to 65535, not ${options.port}`);
    }
    if (!Number.isInteger(this.#maxInFlight) || this.#maxInFlight < 1) {
      throw new DnsOptionsError('maxInFlight must be a positive integer');
    }
    for (const [name, value] of Object.entries(this.#tcpLimits)) {
      if (!Number.isInteger(value) || (value as number) < 1) {
        throw new DnsOptionsError(`tcp.${name} must be a positive integer`);
      }
    }
  }

  /** The port every listener is bound to (after start). */
  get port(): number {
    return this.#port;
  }

  /** The addresses and port being served; the same array until the next start. */
  addresses(): readonly BoundAddress[] {
    return this.#bound;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Binds every address over UDP and TCP; on failure, releases what was bound and throws DnsBindError. */
  async start(): Promise<void> {
    if (this.#listeners.length > 0) throw new DnsOptionsError('the DNS server is already started');
    if (this.#lifetime.signal.aborted) this.#lifetime = this.#newLifetime();
    const attempts = this.#options.port === 0 ? PORT_ZERO_ATTEMPTS : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#bindAll();
        break;
      } catch (error) {
        await this.#closeListeners();
        const retry =
          error instanceof DnsBindError && error.reason === 'EADDRINUSE' && attempt < attempts;
        if (!retry) throw error;
      }
    }
    this.#bound = Object.freeze(
      this.#options.addresses.map((address) => ({ address, port: this.#port })),
    );
    this.#log.info(
      { addresses: this.#options.addresses, port: this.#port },
      'The DNS server is listening.',
    );
  }

  /** Stops listening, closes every connection, and abandons queries in flight. */
  async close(): Promise<void> {
    this.#lifetime.abort(new Error('the DNS server is closing'));
    this.#inFlight = 0;
    await this.#closeListeners();
    this.#bound = Object.freeze([]);
  }

  /** Handlers may listen on it once per query in flight (e.g. an upstream TCP exchange). */
  #newLifetime(): AbortController {
    const controller = new AbortController();
    setMaxListeners(this.#maxInFlight + 16, controller.signal);
    return controller;
  }

  async #bindAll(): Promise<void> {
    let port = this.#options.port;
    const handle: MessageHandler = (bytes, transport, client, server) =>
      this.#handle(bytes, transport, client, server);
    for (const address of this.#options.addresses) {
      for (const transport of ['udp', 'tcp'] as const) {
        try {
          const listener =
            transport === 'udp'
              ? await UdpListener.bind({
                  address,
                  port,
                  handle,
                  log: this.#log,
                  bufferBytes: this.#options.udpBufferBytes,
                  batch: this.#options.udpBatch,
                })
              : await TcpListener.listen({
                  address,
                  port,
                  handle,
                  clock: this.#options.clock,
                  log: this.#log,
                  limits: this.#tcpLimits,
                  acceptFrom: this.#isLocal,
                  onRejected: () => this.stats.refused++,
                });
          this.#listeners.push(listener);
          port = listener.port;
        } catch (error) {
          const shownPort = port === 0 ? this.#options.port : port;
          throw new DnsBindError(
            address,
            shownPort,
            transport,
            error,
            await this.#owner(address, shownPort),
          );
        }
      }
    }
    this.#port = port;
  }

  async #owner(address: string, port: number): Promise<string | undefined> {
    try {
      return await this.#options.describePortOwner?.(address, port);
    } catch {
      return undefined;
    }
  }

  async #closeListeners(): Promise<void> {
    const listeners = this.#listeners;
    this.#listeners = [];
    await Promise.all(listeners.map((l) => l.close()));
  }

  /** The answer to send (synchronously when the handlers answered at once), or undefined. */
  #handle(
    bytes: Buffer,
    transport: Transport,
    client: ClientAddress,
    server: ClientAddress,
  ): Buffer | undefined | Promise<Buffer | undefined> {
    this.stats.received++;
    if (this.#isLocal?.(client.address) === false) return this.#refuse(bytes, transport, client);
    const parsed = parseQuery(bytes, transport, client, server);
    if (parsed.kind === 'drop') {
      this.stats.dropped++;
      return undefined;
    }
    if (parsed.kind === 'reply') {
      this.stats.malformed++;
      this.stats.answered++;
      return parsed.bytes;
    }
    const q = parsed.query;
    if (this.#inFlight >= this.#maxInFlight) {
      this.stats.overloaded++;
      if (transport === 'udp') return undefined;
      this.stats.answered++;
      return servfail(q, 'server').bytes;
    }
    const signal = this.#lifetime.signal;
    let answer: MaybePromise<DnsAnswer>;
    try {
      answer = this.#options.handle(q, signal);
    } catch (error) {
      return this.#failed(q, error, signal);
    }
    if (!isPromiseLike(answer)) return this.#finish(q, answer);
    this.#inFlight++;
    return answer.then(
      (a) => {
        if (signal.aborted) return undefined;
        this.#inFlight--;
        return this.#finish(q, a);
      },
      (error: unknown) => {
        if (signal.aborted) return undefined;
        this.#inFlight--;
        return this.#failed(q, error, signal);
      },
    );
  }

  /**
   * A query from elsewhere: never an alias lookup, an authorization or an upstream query. A few
   * REFUSED answers per source and in all (so a misconfigured neighbour learns why), then
   * silence: the agent must not become a reflector for spoofed sources.
   */
  #refuse(bytes: Buffer, transport: Transport, client: ClientAddress): Buffer | undefined {
    this.stats.refused++;
    if (!this.#refusedRate.take(client.address) || !this.#refusedTotal.take(0)) {
      this.stats.dropped++;
      return undefined;
    }
    const parsed = parseQuery(bytes, transport, client);
    if (parsed.kind !== 'query') {
      this.stats.dropped++;
      return undefined;
    }
    this.stats.answered++;
    return headerOnlyResponse(bytes, parsed.query.questionEnd, RCODE.REFUSED);
  }

  #finish(q: DnsQuery, answer: DnsAnswer): Buffer {
    this.stats.answered++;
    return q.transport === 'udp'
      ? fitUdp(answer.bytes, q.questionEnd, q.maxAnswerBytes)
      : answer.bytes;
  }

  #failed(q: DnsQuery, error: unknown, signal: AbortSignal): Buffer | undefined {
    if (signal.aborted) return undefined;
    this.#log.error({ err: (error as Error).message, name: q.name }, 'A DNS handler failed.');
    this.stats.answered++;
    return servfail(q, 'server').bytes;
  }
}
