/**
 * The two ways diag asks DNS: straight to one server (the agent's, an upstream) with Node's DNS
 * client, and through the operating system's resolver (getaddrinfo), as every program does.
 * Both are bounded in time; neither throws for a DNS failure, they say what happened.
 */
import dns from 'node:dns';
import { Resolver } from 'node:dns/promises';
import net from 'node:net';
import {
  systemClock,
  type Clock,
  type TimerHandle,
  hostPort,
  parseHostPort,
} from '../lib/index.js';

export interface DnsServerAddress {
  readonly address: string;
  readonly port: number;
}

export type AskResult =
  | { readonly kind: 'answer'; readonly addresses: readonly string[] }
  | { readonly kind: 'nxdomain' }
  /** SERVFAIL, REFUSED, a malformed answer, … (`code` is Node's: ESERVFAIL, EREFUSED). */
  | { readonly kind: 'error'; readonly code: string }
  /** Nothing came back: a timeout, or the port refused (ETIMEOUT, ECONNREFUSED). */
  | { readonly kind: 'no_answer'; readonly code: string };

export type LookupResult =
  | { readonly kind: 'answer'; readonly addresses: readonly string[] }
  /** No address (NXDOMAIN or no data). */
  | { readonly kind: 'not_found' }
  /** The resolver failed (timeout, SERVFAIL: getaddrinfo's EAI_AGAIN) or took too long. */
  | { readonly kind: 'error'; readonly code: string };

export interface DnsProbe {
  /** Asks `server` for the A (or, for `type` AAAA, the AAAA) records of `name`. */
  ask(server: DnsServerAddress, name: string, type?: 'A' | 'AAAA'): Promise<AskResult>;
  /** Resolves `name` through the OS resolver: every address, IPv4 and IPv6. */
  lookup(name: string): Promise<LookupResult>;
}

export interface NodeDnsProbeOptions {
  /** Per question to a server; default 2 s. */
  readonly askTimeoutMs?: number;
  /** For a lookup through the OS resolver; default 10 s. */
  readonly lookupTimeoutMs?: number;
  /** Bounds the lookup through the OS resolver; default the system clock. */
  readonly clock?: Clock;
}

/** The real probe: Node's c-ares client for direct questions, getaddrinfo for the OS resolver. */
export function nodeDnsProbe(options: NodeDnsProbeOptions = {}): DnsProbe {
  const askTimeoutMs = options.askTimeoutMs ?? 2_000;
  const lookupTimeoutMs = options.lookupTimeoutMs ?? 10_000;
  const clock = options.clock ?? systemClock;
  return {
    async ask(server, name, type = 'A') {
      const resolver = new Resolver({ timeout: askTimeoutMs, tries: 1 });
      resolver.setServers([formatServer(server)]);
      try {
        const addresses =
          type === 'A' ? await resolver.resolve4(name) : await resolver.resolve6(name);
        return { kind: 'answer', addresses };
      } catch (err) {
        const code = codeOf(err);
        if (code === dns.NOTFOUND) return { kind: 'nxdomain' };
        if (code === dns.NODATA) return { kind: 'answer', addresses: [] };
        if (code === dns.TIMEOUT || code === dns.CONNREFUSED) return { kind: 'no_answer', code };
        return { kind: 'error', code };
      } finally {
        resolver.cancel();
      }
    },
    async lookup(name) {
      let timer: TimerHandle | undefined;
      const timeout = new Promise<LookupResult>((resolve) => {
        timer = clock.setTimeout(() => {
          resolve({ kind: 'error', code: `no answer within ${lookupTimeoutMs / 1000} s` });
        }, lookupTimeoutMs);
      });
      const lookup = dns.promises
        .lookup(name, { all: true, verbatim: true })
        .then((found): LookupResult => ({ kind: 'answer', addresses: found.map((a) => a.address) }))
        .catch((err: unknown): LookupResult => {
          const code = codeOf(err);
          return code === 'ENOTFOUND' || code === 'ENODATA'
            ? { kind: 'not_found' }
            : { kind: 'error', code };
        });
      try {
        return await Promise.race([lookup, timeout]);
      } finally {
        timer?.cancel();
      }
    },
  };
}

/** `100.64.0.1:53`, `[fd00::53]:53`. */
export function formatServer(server: DnsServerAddress): string {
  return hostPort(server.address, server.port);
}

/** `100.64.0.1:53` or `[fd00::53]:53` → address and port. */
export function parseServer(text: string): DnsServerAddress | undefined {
  const { host, port, bracketed } = parseHostPort(text);
  // An IPv6 address takes a port only in brackets, as formatServer writes it.
  if (port === undefined || !/^\d+$/.test(port) || (!bracketed && host.includes(':'))) {
    return undefined;
  }
  if (net.isIP(host) === 0) return undefined;
  return { address: host, port: Number(port) };
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.message : String(err);
}
