/** Linux: who holds a port, from `ss -H -l -n -p` (the process column needs root for others' sockets). */
import type { CommandRunner } from '../command-runner.js';
import type { PortOwner, PortOwners, PortSocket } from '../platform.js';
import { addressMatches, describeOwners } from '../port-owner-text.js';

export class LinuxPortOwners implements PortOwners {
  readonly #runner: CommandRunner;

  constructor(options: { readonly runner: CommandRunner }) {
    this.#runner = options.runner;
  }

  async owners(protocol: 'udp' | 'tcp', port: number, signal?: AbortSignal): Promise<PortOwner[]> {
    return (await this.sockets(protocol, port, signal)).flatMap((s) => s.owners);
  }

  async sockets(
    protocol: 'udp' | 'tcp',
    port: number,
    signal?: AbortSignal,
  ): Promise<PortSocket[]> {
    const flag = protocol === 'udp' ? '-u' : '-t';
    const { stdout } = await this.#runner.run(
      'ss',
      ['-H', '-l', '-n', '-p', flag, 'sport', '=', `:${port}`],
      { signal },
    );
    return parseSs(stdout);
  }

  async describePortOwner(address: string, port: number): Promise<string | undefined> {
    const sockets = [
      ...(await this.sockets('udp', port)),
      ...(await this.sockets('tcp', port)),
    ].filter((s) => addressMatches(s.local, address));
    return describeOwners(sockets.flatMap((s) => s.owners));
  }
}

/** `UNCONN 0 0 100.64.0.1:53 0.0.0.0:* users:(("dnsmasq",pid=812,fd=4),("x",pid=9,fd=3))` per line. */
export function parseSs(text: string): PortSocket[] {
  const sockets: PortSocket[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    const localField = fields[3];
    if (localField === undefined) continue;
    const m = /^\[?(.*?)\]?(?:%[^:\]]+)?:(\d+|\*)$/.exec(localField);
    if (m === null) continue;
    const owners: PortOwner[] = [];
    for (const u of line.matchAll(/\("((?:[^"\\]|\\.)*)",pid=(\d+)/g)) {
      owners.push({ command: u[1] ?? '?', pid: Number(u[2]) });
    }
    sockets.push({ local: (m[1] ?? '').replace(/%.*$/, ''), port: Number(m[2]), owners });
  }
  return sockets;
}
