/**
 * Forwards everything the handlers before it passed on to the upstream resolvers:
 * override_upstream_dns_servers in order, else the resolvers configured before the agent took
 * over, never our own addresses. The client's bytes go out unchanged except the id. Upstreams
 * are asked one after another with a per-try timeout, moving on after a timeout, SERVFAIL or
 * REFUSED, starting with the last one that answered; a truncated UDP answer to a TCP client is
 * asked again over TCP. The whole query is bounded by dns_request_timeout.
 *
 * When every upstream answered SERVFAIL or REFUSED, the last of those answers is the client's:
 * it is the network's answer (it may carry an extended DNS error), as NXDOMAIN is, and no agent
 * error. Only when no upstream answered at all (timeouts, unreachable, none configured) is the
 * answer SERVFAIL and the failure recorded for `status`: one entry per set of upstreams, counted,
 * without the query name, which only root and the agent's user see (it is another user's lookup).
 */
import type { Logger } from 'pino';
import type { UpstreamServer } from '../../config/index.js';
import { type Clock, compressedIp } from '../../lib/index.js';
import { DnsOptionsError, UpstreamError, type ErrorRecorder } from '../errors.js';
import { servfail, type DnsAnswer, type DnsHandler, type Next } from '../handler.js';
import type { DnsQuery } from '../query.js';
import { tcpExchange } from '../upstream-tcp.js';
import type { UdpBatchAddon } from '../udp-batch.js';
import { describe, UdpUpstreamClient, type UpstreamTarget } from '../upstream-udp.js';
import { CLASSIC_UDP_BYTES, isTruncated, RCODE, rcodeOf, setId } from '../wire.js';

export interface ForwardSettings {
  /** override_upstream_dns_servers; when empty, `systemUpstreams` are used. */
  readonly overrideUpstreams: readonly UpstreamServer[];
  /** The resolvers the machine used before the agent took over. */
  readonly systemUpstreams: readonly UpstreamServer[];
  /** dns_request_timeout: the bound on one whole query. */
  readonly requestTimeoutMs: number;
  /** How long to wait for one upstream before trying the next (default 2000 ms). */
  readonly tryTimeoutMs?: number | undefined;
}

export interface ForwardHandlerOptions extends ForwardSettings {
  /** The DNS server's own addresses: never used as upstreams (that would loop). */
  readonly ownAddresses: () => readonly { address: string; port: number }[];
  readonly clock: Clock;
  readonly log: Logger;
  /** A uniformly random integer in [0, limit), for query ids and socket choice. */
  readonly randomInt: (limit: number) => number;
  readonly errors?: ErrorRecorder | undefined;
  readonly socketsPerFamily?: number | undefined;
  /** Batched UDP for the upstream sockets (see resolveUdpIo); without it, Node's dgram. */
  readonly udpBatch?: UdpBatchAddon | undefined;
}

const DEFAULT_TRY_TIMEOUT_MS = 2000;
const WARN_EVERY_MS = 10_000;

export class ForwardHandler implements DnsHandler {
  readonly name = 'forward';
  readonly #options: ForwardHandlerOptions;
  readonly #log: Logger;
  readonly #udp: UdpUpstreamClient;
  #settings: Settings;
  #effective: { own: unknown; list: UpstreamTarget[] } | undefined;
  #lastWarning = -Infinity;
  /** Index (in the effective list) of the upstream to start with: the last one that answered. */
  #preferred = 0;

  constructor(options: ForwardHandlerOptions) {
    this.#options = options;
    this.#log = options.log.child({ component: 'dns', handler: 'forward' });
    this.#settings = validate(options);
    this.#udp = new UdpUpstreamClient({
      clock: options.clock,
      randomInt: options.randomInt,
      log: this.#log,
      socketsPerFamily: options.socketsPerFamily,
      batch: options.udpBatch,
    });
  }

  /** Applies reloaded settings (SIGHUP: dns_request_timeout, override_upstream_dns_servers). */
  update(settings: Partial<ForwardSettings>): void {
    const next = validate({ ...this.#settings, ...settings });
    const changed =
      JSON.stringify([next.overrideUpstreams, next.systemUpstreams]) !==
      JSON.stringify([this.#settings.overrideUpstreams, this.#settings.systemUpstreams]);
    this.#settings = next;
    this.#effective = undefined;
    if (changed) this.#preferred = 0;
  }

  /**
   * The upstreams queries go to now, in order. Recomputed when the settings change or
   * `ownAddresses()` returns a different array (the server's list is replaced on each start).
   */
  upstreams(): readonly UpstreamTarget[] {
    const ownList = this.#options.ownAddresses();
    if (this.#effective?.own === ownList) return this.#effective.list;
    const { overrideUpstreams, systemUpstreams } = this.#settings;
    const list = overrideUpstreams.length > 0 ? overrideUpstreams : systemUpstreams;
    const own = new Set(ownList.map((a) => key(compressedIp(a.address), a.port)));
    const effective = list
      .map((u) => ({ address: compressedIp(u.address), port: u.port, family: u.family }))
      .filter((u) => {
        if (!own.has(key(u.address, u.port))) return true;
        this.#log.warn(
          { upstream: describe(u) },
          'An upstream DNS server is the agent itself; it is skipped.',
        );
        return false;
      });
    this.#effective = { own: ownList, list: effective };
    return effective;
  }

  serve(q: DnsQuery, _next: Next, signal: AbortSignal): Promise<DnsAnswer> {
    const upstreams = this.upstreams();
    const first = this.#preferred < upstreams.length ? this.#preferred : 0;
    const deadline = this.#options.clock.monotonic() + this.#settings.requestTimeoutMs;
    return this.#attempt(q, { upstreams, first, deadline, failures: [], signal }, 0);
  }

  /** Asks the upstream `i` places after the preferred one, then the next, until one answers. */
  #attempt(q: DnsQuery, run: Attempt, i: number): Promise<DnsAnswer> {
    const { upstreams, first, deadline, failures, signal } = run;
    const index = (first + i) % upstreams.length;
    const target = upstreams[index];
    const left = deadline - this.#options.clock.monotonic();
    if (i >= upstreams.length || target === undefined || left <= 0) {
      return Promise.resolve(this.#allFailed(q, run));
    }
    const ask = this.#ask(target, q, Math.min(this.#settings.tryTimeoutMs, left), signal);
    return ask.then(
      (answer) => {
        const rcode = rcodeOf(answer.readUInt16BE(2));
        if (rcode === RCODE.SERVFAIL || rcode === RCODE.REFUSED) {
          failures.push(
            `${describe(target)} answered ${rcode === RCODE.SERVFAIL ? 'SERVFAIL' : 'REFUSED'}`,
          );
          run.refusal = answer;
          return this.#attempt(q, run, i + 1);
        }
        this.#preferred = index;
        setId(answer, q.id);
        return { bytes: answer, by: this.name };
      },
      (e: unknown) => {
        if (signal.aborted) throw e;
        failures.push((e as Error).message);
        return this.#attempt(q, run, i + 1);
      },
    );
  }

  #allFailed(q: DnsQuery, run: Attempt): DnsAnswer {
    const { upstreams, failures, refusal } = run;
    if (refusal !== undefined) {
      this.#log.debug({ name: q.name, type: q.type, failures }, 'The upstreams refused a query.');
      setId(refusal, q.id);
      return { bytes: refusal, by: this.name };
    }
    // at most one warning per 10 s (a dead upstream under load would flood the log); the rest at debug
    const now = this.#options.clock.now();
    const level = now - this.#lastWarning >= WARN_EVERY_MS ? 'warn' : 'debug';
    if (level === 'warn') this.#lastWarning = now;
    this.#log[level]({ name: q.name, type: q.type, failures }, 'Forwarding a query failed.');
    const error = new UpstreamError(
      upstreams.length === 0
        ? 'no upstream DNS server to ask'
        : `no upstream DNS server answered: ${failures.join('; ')}`,
    );
    this.#options.errors?.record(error, {
      key: `${error.code}\n${upstreams.map(describe).join(' ')}`,
      detail: `${q.name} ${q.type}`,
    });
    return servfail(q, this.name);
  }

  /** Releases the upstream sockets; queries in flight fail. */
  close(): void {
    this.#udp.close();
  }

  #ask(
    target: UpstreamTarget,
    q: DnsQuery,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<Buffer> {
    const { clock } = this.#options;
    if (q.transport === 'tcp' && q.bytes.length > CLASSIC_UDP_BYTES) {
      return tcpExchange(target, q.bytes, q.questionEnd, timeoutMs, clock, signal);
    }
    const started = clock.monotonic();
    const udp = this.#udp.exchange(target, q.bytes, q.questionEnd, timeoutMs, signal);
    if (q.transport !== 'tcp') return udp;
    return udp.then((answer) => {
      if (!isTruncated(answer)) return answer;
      const left = Math.max(1, timeoutMs - (clock.monotonic() - started));
      return tcpExchange(target, q.bytes, q.questionEnd, left, clock, signal);
    });
  }
}

interface Attempt {
  readonly upstreams: readonly UpstreamTarget[];
  readonly first: number;
  /** On the monotonic clock: a wall-clock jump neither cuts nor stretches the query's time. */
  readonly deadline: number;
  readonly failures: string[];
  readonly signal: AbortSignal;
  /** The last SERVFAIL or REFUSED answer: the client's when no upstream answers better. */
  refusal?: Buffer;
}

function key(address: string, port: number): string {
  return `${address}|${port}`;
}

interface Settings {
  readonly overrideUpstreams: readonly UpstreamServer[];
  readonly systemUpstreams: readonly UpstreamServer[];
  readonly requestTimeoutMs: number;
  readonly tryTimeoutMs: number;
}

function validate(settings: ForwardSettings): Settings {
  const tryTimeoutMs = settings.tryTimeoutMs ?? DEFAULT_TRY_TIMEOUT_MS;
  for (const [name, ms] of [
    ['dns_request_timeout', settings.requestTimeoutMs],
    ['the per-upstream timeout', tryTimeoutMs],
  ] as const) {
    if (!Number.isFinite(ms) || ms <= 0) {
      throw new DnsOptionsError(`${name} must be a positive number of ms, not ${ms}`);
    }
  }
  return {
    overrideUpstreams: [...settings.overrideUpstreams],
    systemUpstreams: [...settings.systemUpstreams],
    requestTimeoutMs: settings.requestTimeoutMs,
    tryTimeoutMs,
  };
}
