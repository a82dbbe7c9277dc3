/** macOS: alias addresses with ifconfig, the primary interface from `route -n get default`, prefix checks from ifconfig and netstat. */
import type { Logger } from 'pino';
import type { IpPrefix } from '../../config/index.js';
import type { CommandRunner } from '../command-runner.js';
import { PlatformError } from '../errors.js';
import { refuseConflicts, removeEach } from '../linux/linux-addresses.js';
import type { InterfaceAddress, InterfaceAddresses } from '../platform.js';
import type { ChangeRecord } from '../platform-state.js';
import { hostLength, overlapping } from '../prefix-overlap.js';

/** Tunnel interfaces (VPN clients): their addresses come and go with the VPN. */
const TUNNEL = /^(utun|tun|tap|ipsec|ppp|gif|stf)\d*$/;

export interface DarwinAddressesOptions {
  readonly runner: CommandRunner;
  readonly changes: ChangeRecord;
  readonly log: Logger;
}

export class DarwinAddresses implements InterfaceAddresses {
  readonly #o: DarwinAddressesOptions;

  constructor(options: DarwinAddressesOptions) {
    this.#o = options;
  }

  async primaryInterface(interfaceToUse: string | null, signal?: AbortSignal): Promise<string> {
    if (interfaceToUse !== null) {
      const { stdout } = await this.#o.runner.run('ifconfig', ['-l'], { signal });
      if (!stdout.trim().split(/\s+/).includes(interfaceToUse)) {
        throw new PlatformError(
          'platform.no_interface',
          `interface_to_use names "${interfaceToUse}", which is not an interface of this Mac`,
          { hint: 'List the interfaces with "ifconfig -l" (Wi-Fi is usually en0).' },
        );
      }
      return interfaceToUse;
    }
    const { stdout } = await this.#o.runner.run('route', ['-n', 'get', 'default'], { signal });
    const iface = /^\s*interface:\s*(\S+)/m.exec(stdout)?.[1];
    if (iface === undefined) {
      throw new PlatformError(
        'platform.no_default_route',
        'this Mac has no default route, so there is no primary interface for the agent',
        { hint: 'Connect to a network, or set interface_to_use (e.g. "en0").' },
      );
    }
    if (TUNNEL.test(iface)) {
      throw new PlatformError(
        'platform.tunnel_interface',
        `the default route goes through ${iface}, a VPN tunnel; the agent's addresses would disappear with the VPN`,
        { hint: 'Set interface_to_use to the physical interface (e.g. "en0").' },
      );
    }
    return iface;
  }

  checkPrefix(prefix: IpPrefix, signal?: AbortSignal): Promise<void> {
    return refuseConflicts(this, prefix, signal);
  }

  async prefixConflicts(
    prefix: IpPrefix,
    ignore: readonly string[],
    signal?: AbortSignal,
  ): Promise<string[]> {
    const v6 = prefix.network.includes(':');
    const [addresses, netstat] = await Promise.all([
      this.list(signal),
      this.#o.runner.run('netstat', ['-rn', '-f', v6 ? 'inet6' : 'inet'], { signal }),
    ]);
    return overlapping(
      prefix,
      ignore,
      addresses.map((a) => ({ ...a, text: `address ${a.address} on ${a.interface}` })),
      parseNetstatRoutes(netstat.stdout).map((r) => ({
        cidr: r.cidr,
        text: `route ${r.cidr} via ${r.interface}`,
      })),
    );
  }

  async list(signal?: AbortSignal): Promise<InterfaceAddress[]> {
    return parseIfconfig((await this.#o.runner.run('ifconfig', [], { signal })).stdout);
  }

  async add(iface: string, ip: string, signal?: AbortSignal): Promise<void> {
    const entry = { interface: iface, address: ip };
    await this.#o.changes.addAddress(entry);
    const args =
      hostLength(ip) === 128
        ? [iface, 'inet6', ip, 'prefixlen', '128', 'alias']
        : [iface, 'alias', ip, '255.255.255.255'];
    try {
      await this.#o.runner.run('ifconfig', args, { signal });
    } catch (error) {
      await this.#o.changes.removeAddress(entry);
      throw error;
    }
  }

  async remove(iface: string, ip: string, signal?: AbortSignal): Promise<void> {
    const args = hostLength(ip) === 128 ? [iface, 'inet6', ip, '-alias'] : [iface, '-alias', ip];
    try {
      await this.#o.runner.run('ifconfig', args, { signal });
    } catch (error) {
      const gone =
        error instanceof PlatformError &&
        /Can't assign requested address|does not exist|not found/i.test(error.message);
      if (!gone) throw error;
    }
    await this.#o.changes.removeAddress({ interface: iface, address: ip });
  }

  async removeAll(signal?: AbortSignal): Promise<void> {
    await removeEach(this.#o.changes, (a) => this.remove(a.interface, a.address, signal));
  }
}

/** `inet 100.64.0.1 netmask 0xffffffff` / `inet6 fd00::1%en0 prefixlen 64` lines, per interface. */
export function parseIfconfig(text: string): InterfaceAddress[] {
  const out: InterfaceAddress[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    const head = /^([A-Za-z0-9]+):\s+flags=/.exec(line);
    if (head?.[1] !== undefined) current = head[1];
    const inet = /^\s+inet6?\s+([0-9a-fA-F.:]+)(?:%\S+)?\s/.exec(line);
    if (inet?.[1] !== undefined && current !== '')
      out.push({ interface: current, address: inet[1] });
  }
  return out;
}

/**
 * `netstat -rn` destinations as CIDRs. macOS shortens IPv4 networks: `100.64/10`, `192.168.1`
 * (a /24: the octets given), `10.1.2.3` (a host); IPv6 ones are `fd00::/64` or `fe80::%lo0/64`.
 */
export function parseNetstatRoutes(text: string): { cidr: string; interface: string }[] {
  const out: { cidr: string; interface: string }[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    const dest = fields[0];
    const netif = fields[3] ?? '';
    if (dest === undefined || dest === 'default' || dest === 'Destination') continue;
    const [addr = '', len] = dest.replace(/%[^/]*/, '').split('/');
    if (addr.includes(':')) {
      out.push({ cidr: `${addr}/${len ?? '128'}`, interface: netif });
      continue;
    }
    if (!/^\d+(\.\d+){0,3}$/.test(addr)) continue;
    const octets = addr.split('.');
    const length = len ?? String(octets.length * 8);
    while (octets.length < 4) octets.push('0');
    out.push({ cidr: `${octets.join('.')}/${length}`, interface: netif });
  }
  return out;
}
