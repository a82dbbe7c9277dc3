/** Linux: addresses on an interface with `ip addr add/del`, the primary interface and prefix checks from `ip -j`. */
import type { Logger } from 'pino';
import type { IpPrefix } from '../../config/index.js';
import { asError } from '../../lib/index.js';
import type { CommandRunner } from '../command-runner.js';
import { PlatformError } from '../errors.js';
import type { InterfaceAddress, InterfaceAddresses } from '../platform.js';
import type { ChangeRecord } from '../platform-state.js';
import { hostLength, overlapping } from '../prefix-overlap.js';
import { parseLinks, parseRoutes } from './ip-json.js';

export interface LinuxAddressesOptions {
  readonly runner: CommandRunner;
  readonly changes: ChangeRecord;
  readonly log: Logger;
}

export class LinuxAddresses implements InterfaceAddresses {
  readonly #o: LinuxAddressesOptions;

  constructor(options: LinuxAddressesOptions) {
    this.#o = options;
  }

  async primaryInterface(interfaceToUse: string | null, signal?: AbortSignal): Promise<string> {
    if (interfaceToUse !== null) {
      const { stdout } = await this.#o.runner.run('ip', ['-j', 'link', 'show'], { signal });
      if (!parseLinks(stdout).some((l) => l.ifname === interfaceToUse)) {
        throw new PlatformError(
          'platform.no_interface',
          `interface_to_use names "${interfaceToUse}", which is not an interface of this machine`,
          { hint: 'List the interfaces with "ip link" and set interface_to_use to one of them.' },
        );
      }
      return interfaceToUse;
    }
    const { stdout } = await this.#o.runner.run('ip', ['-j', 'route', 'show', 'default'], {
      signal,
    });
    const best = parseRoutes(stdout)
      .filter((r) => r.dev !== undefined)
      .sort((a, b) => (a.metric ?? 0) - (b.metric ?? 0))[0];
    if (best?.dev === undefined) {
      throw new PlatformError(
        'platform.no_default_route',
        'this machine has no default route, so there is no primary interface for the agent',
        { hint: 'Connect to a network, or set interface_to_use in the configuration file.' },
      );
    }
    return best.dev;
  }

  checkPrefix(prefix: IpPrefix, signal?: AbortSignal): Promise<void> {
    return refuseConflicts(this, prefix, signal);
  }

  async prefixConflicts(
    prefix: IpPrefix,
    ignore: readonly string[],
    signal?: AbortSignal,
  ): Promise<string[]> {
    const family = prefix.network.includes(':') ? '-6' : '-4';
    const [addrs, routes] = await Promise.all([
      this.#o.runner.run('ip', ['-j', family, 'addr', 'show'], { signal }),
      this.#o.runner.run('ip', ['-j', family, 'route', 'show'], { signal }),
    ]);
    const addresses = parseLinks(addrs.stdout).flatMap((link) =>
      (link.addr_info ?? []).map((a) => ({
        interface: link.ifname,
        address: a.local,
        text: `address ${a.local}/${a.prefixlen} on ${link.ifname}`,
      })),
    );
    const routeList = parseRoutes(routes.stdout)
      .filter((r) => r.dst !== 'default')
      .map((r) => ({
        cidr: r.dst,
        text: `route ${r.dst}${r.dev === undefined ? '' : ` via ${r.dev}`}`,
      }));
    return overlapping(prefix, ignore, addresses, routeList);
  }

  async list(signal?: AbortSignal): Promise<InterfaceAddress[]> {
    const { stdout } = await this.#o.runner.run('ip', ['-j', 'addr', 'show'], { signal });
    return parseLinks(stdout).flatMap((link) =>
      (link.addr_info ?? []).map((a) => ({ interface: link.ifname, address: a.local })),
    );
  }

  async add(iface: string, ip: string, signal?: AbortSignal): Promise<void> {
    const entry = { interface: iface, address: ip };
    await this.#o.changes.addAddress(entry);
    // nodad: an IPv6 address is usable at once, not "tentative" (binding it would fail).
    const extra = hostLength(ip) === 128 ? ['nodad'] : [];
    try {
      await this.#o.runner.run(
        'ip',
        ['addr', 'add', `${ip}/${hostLength(ip)}`, 'dev', iface, ...extra],
        { signal },
      );
    } catch (error) {
      if (error instanceof PlatformError && /File exists/i.test(error.message)) return;
      await this.#o.changes.removeAddress(entry);
      throw error;
    }
    this.#o.log.debug({ interface: iface, address: ip }, 'Address added.');
  }

  async remove(iface: string, ip: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.#o.runner.run('ip', ['addr', 'del', `${ip}/${hostLength(ip)}`, 'dev', iface], {
        signal,
      });
    } catch (error) {
      if (!isGone(error)) throw error;
    }
    await this.#o.changes.removeAddress({ interface: iface, address: ip });
    this.#o.log.debug({ interface: iface, address: ip }, 'Address removed.');
  }

  async removeAll(signal?: AbortSignal): Promise<void> {
    await removeEach(this.#o.changes, (a) => this.remove(a.interface, a.address, signal));
  }
}

/** "Cannot assign requested address" / no such device: the address is not there any more. */
function isGone(error: unknown): boolean {
  return (
    error instanceof PlatformError &&
    /Cannot assign requested address|Address not found|Cannot find device|does not exist/i.test(
      error.message,
    )
  );
}

/** Removes every recorded address, newest first; tries all, then throws the first failure. */
export async function removeEach(
  changes: ChangeRecord,
  remove: (a: { interface: string; address: string }) => Promise<void>,
): Promise<void> {
  let first: unknown;
  for (const a of [...changes.state.addresses].reverse()) {
    try {
      await remove(a);
    } catch (error) {
      first ??= error;
    }
  }
  if (first !== undefined) throw asError(first);
}

/** Throws the prefix_conflict error when anything on the machine overlaps `prefix`. */
export async function refuseConflicts(
  addresses: Pick<InterfaceAddresses, 'prefixConflicts'>,
  prefix: IpPrefix,
  signal?: AbortSignal,
): Promise<void> {
  const conflicts = await addresses.prefixConflicts(prefix, [], signal);
  if (conflicts.length > 0) throw prefixConflict(prefix, conflicts, prefix.network.includes(':'));
}

export function prefixConflict(prefix: IpPrefix, conflicts: string[], v6: boolean): PlatformError {
  const key = v6 ? 'v6_prefix' : 'v4_prefix';
  return new PlatformError(
    'platform.prefix_conflict',
    `${key} ${prefix.cidr} overlaps what is already on this machine: ${conflicts.join('; ')}`,
    {
      hint: `Another VPN (Tailscale uses 100.64.0.0/10), a container network or a carrier-grade NAT uses these addresses; set ${key} to a range nothing else uses, e.g. "${v6 ? 'fd00:ca:1::/64' : '198.18.0.0/16'}" (a benchmarking range, rarely used).`,
    },
  );
}
