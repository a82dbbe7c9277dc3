/**
 * macOS: the DNS servers of the network service behind our interface, with networksetup; the OS
 * caches flushed after each change. `scutil --dns` tells what the machine resolves with.
 */
import type { CommandRunner } from '../command-runner.js';
import { PlatformError } from '../errors.js';
import type { OsDnsConfig } from '../platform.js';
import type { ResolverState } from '../platform-state.js';
import type { ResolverBackend } from '../takeover-resolver.js';

type ServiceState = Extract<ResolverState, { kind: 'networksetup' }>;

export class NetworkSetupBackend implements ResolverBackend {
  readonly kind = 'networksetup' as const;
  readonly #runner: CommandRunner;

  constructor(options: { readonly runner: CommandRunner }) {
    this.#runner = options.runner;
  }

  async snapshot(config: OsDnsConfig, signal?: AbortSignal): Promise<ResolverState> {
    const order = await this.#run('networksetup', ['-listnetworkserviceorder'], signal);
    const service = parseServiceOrder(order).find((s) => s.device === config.interface)?.name;
    if (service === undefined) {
      throw new PlatformError(
        'platform.no_network_service',
        `no network service uses the interface ${config.interface}`,
        {
          hint: 'See "networksetup -listnetworkserviceorder"; set interface_to_use to the device of one.',
        },
      );
    }
    const servers = parseDnsServers(
      await this.#run('networksetup', ['-getdnsservers', service], signal),
    );
    const upstreams = parseScutilDns(await this.#run('scutil', ['--dns'], signal));
    return { kind: 'networksetup', service, servers, upstreams };
  }

  async write(config: OsDnsConfig, original: ResolverState, signal?: AbortSignal): Promise<void> {
    const { service } = asService(original);
    await this.#run('networksetup', ['-setdnsservers', service, ...config.servers], signal);
    await this.#flush(signal);
  }

  async restore(original: ResolverState, signal?: AbortSignal): Promise<void> {
    const { service, servers } = asService(original);
    const values = servers.length === 0 ? ['Empty'] : [...servers];
    await this.#run('networksetup', ['-setdnsservers', service, ...values], signal);
    await this.#flush(signal);
  }

  async current(signal?: AbortSignal): Promise<string[]> {
    return parseScutilDns(await this.#run('scutil', ['--dns'], signal));
  }

  async #flush(signal?: AbortSignal): Promise<void> {
    await this.#run('dscacheutil', ['-flushcache'], signal);
    await this.#run('killall', ['-HUP', 'mDNSResponder'], signal);
  }

  async #run(cmd: string, args: string[], signal?: AbortSignal): Promise<string> {
    return (await this.#runner.run(cmd, args, { signal })).stdout;
  }
}

/** `(1) Wi-Fi` then `(Hardware Port: Wi-Fi, Device: en0)`; a disabled service shows `(*)`. */
export function parseServiceOrder(text: string): { name: string; device: string }[] {
  const out: { name: string; device: string }[] = [];
  let name: string | undefined;
  for (const line of text.split('\n')) {
    const head = /^\((\d+|\*)\)\s+(.+)$/.exec(line.trim());
    if (head?.[2] !== undefined) {
      name = head[2];
      continue;
    }
    const device = /Device:\s*([^)\s]+)\)/.exec(line)?.[1];
    if (name !== undefined && device !== undefined) out.push({ name, device });
    name = undefined;
  }
  return out;
}

/** One address per line, or "There aren't any DNS Servers set on Wi-Fi." for none. */
export function parseDnsServers(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^[0-9a-fA-F.:]+$/.test(l) && l.length > 1);
}

/**
 * The nameservers of the default resolvers in `scutil --dns` (sections without a `domain`,
 * before the scoped ones), in order.
 */
export function parseScutilDns(text: string): string[] {
  const out: string[] = [];
  const main = text.split(/DNS configuration \(for scoped queries\)/)[0] ?? '';
  for (const section of main.split(/^resolver #\d+/m).slice(1)) {
    if (/^\s*domain\s*:/m.test(section)) continue;
    for (const m of section.matchAll(/^\s*nameserver\[\d+\]\s*:\s*(\S+)/gm)) {
      // A zone (fe80::1%en0) is kept: the upstream list leaves such addresses out.
      const address = m[1] ?? '';
      if (!out.includes(address)) out.push(address);
    }
  }
  return out;
}

function asService(state: ResolverState): ServiceState {
  if (state.kind !== 'networksetup') throw new Error(`not a networksetup state: ${state.kind}`);
  return state;
}
