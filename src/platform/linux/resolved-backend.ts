/**
 * Linux with systemd-resolved managing /etc/resolv.conf: per-link DNS on the agent's own link
 * (`config.interface`), through `resolvectl`. `split`: the link's routing domains are the alias
 * names (`~db.prod.corp`) and it is no default route, so only aliases reach the agent; `full`:
 * `~.` and default route, every name goes to the agent. Restore reverts that link (one already
 * gone is fine: resolved dropped its settings with it) and gives back what it had before.
 */
import type { Logger } from 'pino';
import type { CommandRunner } from '../command-runner.js';
import { commandFailed } from '../command-runner.js';
import { PlatformError, formatCommand } from '../errors.js';
import type { OsDnsConfig } from '../platform.js';
import type { ResolverState } from '../platform-state.js';
import type { ResolverBackend } from '../takeover-resolver.js';
import { routingDomains } from './routing-domains.js';

type LinkState = Extract<ResolverState, { kind: 'systemd-resolved' }>;

/** resolved's own listeners: an upstream there would send the agent's queries back to it. */
const STUB_ADDRESSES = new Set(['127.0.0.53', '127.0.0.54']);

export class ResolvedBackend implements ResolverBackend {
  readonly kind = 'systemd-resolved' as const;
  readonly routesByName = true;
  readonly #runner: CommandRunner;
  readonly #log: Logger | undefined;

  constructor(options: { readonly runner: CommandRunner; readonly log?: Logger }) {
    this.#runner = options.runner;
    this.#log = options.log;
  }

  async snapshot(config: OsDnsConfig, signal?: AbortSignal): Promise<ResolverState> {
    const link = config.interface;
    if (link === 'lo') {
      throw new PlatformError(
        'platform.resolved_loopback',
        'systemd-resolved refuses per-link DNS servers on the loopback interface',
        { hint: 'Give the agent a link of its own (needs /dev/net/tun), or set interface_to_use.' },
      );
    }
    const dns = await this.#resolvectl(['dns', link], signal);
    const domain = await this.#resolvectl(['domain', link], signal);
    return {
      kind: 'systemd-resolved',
      link,
      servers: parseResolvectlLinks(dns).flatMap((l) => l.values),
      domains: parseResolvectlLinks(domain).flatMap((l) => l.values),
      upstreams: await this.upstreamsBesides(link, signal),
    };
  }

  async write(config: OsDnsConfig, _original: ResolverState, signal?: AbortSignal): Promise<void> {
    await this.#resolvectl(['dns', config.interface, ...config.servers], signal);
    await this.#route(config, signal);
  }

  /** Changes which names reach the agent (split mode: the aliases changed). */
  async reroute(config: OsDnsConfig, signal?: AbortSignal): Promise<void> {
    await this.#route(config, signal);
  }

  async #route(config: OsDnsConfig, signal?: AbortSignal): Promise<void> {
    const link = config.interface;
    const routing =
      config.dnsMode === 'full'
        ? { domains: ['.'], collapsed: false }
        : routingDomains(config.domains ?? []);
    const domains = routing.domains;
    if (routing.collapsed) {
      this.#log?.info(
        { aliases: config.domains?.length, domains },
        'More aliases than systemd-resolved routes per link: routing their parent domains; other names under them reach the agent too, which forwards them.',
      );
    }
    // An empty argument clears the list (a link without domains would otherwise route nothing
    // explicitly, but with no domains resolved makes it a default route on its own).
    const args = domains.length === 0 ? [''] : domains.map((d) => `~${d}`);
    await this.#resolvectl(['domain', link, ...args], signal);
    await this.#resolvectl(['default-route', link, String(domains.includes('.'))], signal);
    await this.#flush(signal);
  }

  async restore(original: ResolverState, signal?: AbortSignal): Promise<void> {
    const state = asLink(original);
    if ((await this.#onLink(['revert', state.link], signal)) === 'gone') return;
    if (state.servers.length > 0) {
      await this.#onLink(['dns', state.link, ...state.servers], signal);
    }
    if (state.domains.length > 0) {
      await this.#onLink(['domain', state.link, ...state.domains], signal);
    }
    await this.#flush(signal);
  }

  async current(signal?: AbortSignal): Promise<string[]> {
    return parseResolvectlLinks(await this.#resolvectl(['dns'], signal)).flatMap((l) => l.values);
  }

  async liveUpstreams(original: ResolverState, signal?: AbortSignal): Promise<string[]> {
    return this.upstreamsBesides(asLink(original).link, signal);
  }

  /**
   * The servers of every other link and the global ones: where resolved itself sends names, never
   * its stub (which would be the agent again) nor the agent's link.
   */
  async upstreamsBesides(link: string, signal?: AbortSignal): Promise<string[]> {
    return parseResolvectlLinks(await this.#resolvectl(['dns'], signal))
      .filter((l) => l.link !== link)
      .flatMap((l) => l.values)
      .filter((s) => !STUB_ADDRESSES.has(s));
  }

  async #flush(signal?: AbortSignal): Promise<void> {
    // A cache holding answers from before is only stale, not wrong: ignore a failure.
    await this.#runner.run('resolvectl', ['flush-caches'], { signal }).catch(() => undefined);
  }

  async #resolvectl(args: string[], signal?: AbortSignal): Promise<string> {
    return (await this.#runner.run('resolvectl', args, { signal })).stdout;
  }

  /** A command on a link that may be gone (resolved forgot its settings with it): 'gone' then. */
  async #onLink(args: string[], signal?: AbortSignal): Promise<'done' | 'gone'> {
    const result = await this.#runner.run('resolvectl', args, { signal, okExitCodes: [1] });
    if (result.exitCode === 0) return 'done';
    if (/No such device/i.test(result.stderr)) return 'gone';
    throw commandFailed(formatCommand('resolvectl', args), result.exitCode, result.stderr);
  }
}

export interface ResolvectlLine {
  /** The link's name; null for `Global`. */
  readonly link: string | null;
  readonly values: string[];
}

/**
 * `resolvectl dns` / `resolvectl domain` output: `Global: 1.1.1.1`,
 * `Link 2 (eth0): 192.168.1.1 fe80::1%eth0`, `Link 3 (wg0): ~corp`; a long list goes on
 * indented continuation lines. Server names after `#` (DNS-over-TLS) and ports are dropped.
 */
export function parseResolvectlLinks(text: string): ResolvectlLine[] {
  const lines: ResolvectlLine[] = [];
  for (const line of text.split('\n')) {
    const m = /^(?:Global|Link \d+ \(([^)]*)\)):(.*)$/.exec(line.trimStart());
    const last = lines.at(-1);
    const rest = m === null ? (/^\s/.test(line) && last !== undefined ? line : undefined) : m[2];
    if (rest === undefined) continue;
    const values = rest
      .trim()
      .split(/\s+/)
      .filter((t) => t !== '')
      .map((t) => t.split('#')[0] ?? t)
      .map(stripPort);
    if (m === null) last?.values.push(...values);
    else lines.push({ link: m[1] ?? null, values });
  }
  return lines;
}

/** The lists alone, one per `Global` or `Link` entry. */
export function parseResolvectlLists(text: string): string[][] {
  return parseResolvectlLinks(text).map((l) => l.values);
}

function stripPort(token: string): string {
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(token);
  if (bracket?.[1] !== undefined) return bracket[1];
  const v4port = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(token);
  return v4port?.[1] ?? token;
}

function asLink(state: ResolverState): LinkState {
  if (state.kind !== 'systemd-resolved') throw new Error(`not a resolved state: ${state.kind}`);
  return state;
}
