/** macOS: who holds a port, from `lsof -nP -F pcn` (listening TCP, bound UDP). */
import type { CommandRunner } from '../command-runner.js';
import type { PortOwner, PortOwners, PortSocket } from '../platform.js';
import { addressMatches, describeOwners } from '../port-owner-text.js';

export class DarwinPortOwners implements PortOwners {
  readonly #runner: CommandRunner;

  constructor(options: { readonly runner: CommandRunner }) {
    this.#runner = options.runner;
  }

  async owners(protocol: 'udp' | 'tcp', port: number, signal?: AbortSignal): Promise<PortOwner[]> {
    return (await this.sockets(protocol, port, signal)).flatMap((s) => s.owners);
  }

  sockets(protocol: 'udp' | 'tcp', port: number, signal?: AbortSignal): Promise<PortSocket[]> {
    const select = protocol === 'udp' ? [`-iUDP:${port}`] : [`-iTCP:${port}`, '-sTCP:LISTEN'];
    return this.#lsof(select, port, signal);
  }

  async describePortOwner(address: string, port: number): Promise<string | undefined> {
    const sockets = await this.#lsof([`-iUDP:${port}`, `-iTCP:${port}`, '-sTCP:LISTEN'], port);
    return describeOwners(
      sockets.filter((s) => addressMatches(s.local, address)).flatMap((s) => s.owners),
    );
  }

  async #lsof(select: string[], port: number, signal?: AbortSignal): Promise<PortSocket[]> {
    // lsof exits 1 when nothing matches.
    const { stdout } = await this.#runner.run('lsof', ['-nP', ...select, '-F', 'pcn'], {
      signal,
      okExitCodes: [1],
    });
    return parseLsof(stdout).filter((s) => s.port === port);
  }
}

/** `-F pcn` output: `p<pid>`, `c<command>`, then `n<local>[-><remote>]` per socket (`f` lines ignored). */
export function parseLsof(text: string): PortSocket[] {
  const out: PortSocket[] = [];
  let pid = 0;
  let command = '?';
  for (const line of text.split('\n')) {
    const tag = line[0];
    const value = line.slice(1);
    if (tag === 'p') pid = Number(value);
    else if (tag === 'c') command = value;
    else if (tag === 'n') {
      const local = value.split('->')[0] ?? '';
      const m = /^\[?(.*?)\]?:(\d+)$/.exec(local);
      if (m === null) continue;
      out.push({
        local: (m[1] ?? '').replace(/%.*$/, ''),
        port: Number(m[2]),
        owners: [{ pid, command }],
      });
    }
  }
  return out;
}
