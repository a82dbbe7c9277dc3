/**
 * Linux with systemd-resolved managing /etc/resolv.conf: per-link DNS on our interface with the
 * `~.` routing domain (every name goes to our server), through `resolvectl`. Restore puts the
 * link's own servers and domains back (or reverts it when it had none).
 */
import type { CommandRunner } from '../command-runner.js';
import type { OsDnsConfig } from '../platform.js';
import type { ResolverState } from '../platform-state.js';
import type { ResolverBackend } from '../takeover-resolver.js';

type LinkState = Extract<ResolverState, { kind: 'systemd-resolved' }>;

export class ResolvedBackend implements ResolverBackend {
  readonly kind = 'systemd-resolved' as const;
  readonly #runner: CommandRunner;

  constructor(options: { readonly runner: CommandRunner }) {
    this.#runner = options.runner;
  }

  async snapshot(config: OsDnsConfig, signal?: AbortSignal): Promise<ResolverState> {
    const link = config.interface;
    const dns = await this.#resolvectl(['dns', link], signal);
    const domain = await this.#resolvectl(['domain', link], signal);
    const all = await this.#resolvectl(['dns'], signal);
    return {
      kind: 'systemd-resolved',
      link,
      servers: parseResolvectlLists(dns).flat(),
      domains: parseResolvectlLists(domain).flat(),
      upstreams: parseResolvectlLists(all).flat(),
    };
  }

  async write(config: OsDnsConfig, _original: ResolverState, signal?: AbortSignal): Promise<void> {
    await this.#resolvectl(['dns', config.interface, ...config.servers], signal);
    await this.#resolvectl(['domain', config.interface, '~.'], signal);
    await this.#flush(signal);
  }

  async restore(original: ResolverState, signal?: AbortSignal): Promise<void> {
    const state = asLink(original);
    await this.#resolvectl(['revert', state.link], signal);
    if (state.servers.length > 0) {
      await this.#resolvectl(['dns', state.link, ...state.servers], signal);
    }
    if (state.domains.length > 0) {
      await this.#resolvectl(['domain', state.link, ...state.domains], signal);
    }
    await this.#flush(signal);
  }

  async current(signal?: AbortSignal): Promise<string[]> {
    return parseResolvectlLists(await this.#resolvectl(['dns'], signal)).flat();
  }

  async #flush(signal?: AbortSignal): Promise<void> {
    // A cache holding answers from before is only stale, not wrong: ignore a failure.
    await this.#runner.run('resolvectl', ['flush-caches'], { signal }).catch(() => undefined);
  }

  async #resolvectl(args: string[], signal?: AbortSignal): Promise<string> {
    return (await this.#runner.run('resolvectl', args, { signal })).stdout;
  }
}

/**
 * `resolvectl dns` / `resolvectl domain` output, one list per line:
 * `Global: 1.1.1.1`, `Link 2 (eth0): 192.168.1.1 fe80::1%eth0`, `Link 3 (wg0): ~corp`.
 * Server names after `#` (DNS-over-TLS) and ports are dropped.
 */
export function parseResolvectlLists(text: string): string[][] {
  const lists: string[][] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(?:Global|Link \d+ \([^)]*\)):(.*)$/.exec(line);
    if (m === null) continue;
    lists.push(
      (m[1] ?? '')
        .trim()
        .split(/\s+/)
        .filter((t) => t !== '')
        .map((t) => t.split('#')[0] ?? t)
        .map(stripPort),
    );
  }
  return lists;
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
