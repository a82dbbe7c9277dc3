/**
 * Runs Debian's dnsmasq as a real DNS server for tests and benchmarks: on a loopback address
 * and a free high port, in the foreground, with only the records given; killed by its PID.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { makeQuery, udpExchange } from './dns-client.js';

/** The path of a program, or undefined when it is not installed. */
export function which(program: string): string | undefined {
  try {
    return execFileSync('which', [program], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export interface Dnsmasq {
  readonly address: string;
  readonly port: number;
  readonly pid: number;
  close(): Promise<void>;
}

/** A port free for both UDP and TCP on `address` right now. */
export async function freePort(address: string): Promise<number> {
  for (;;) {
    const udp = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
    await new Promise<void>((resolve) => udp.bind(0, address, resolve));
    const port = udp.address().port;
    const tcp = net.createServer();
    const ok = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => {
        resolve(false);
      });
      tcp.listen(port, address, () => {
        resolve(true);
      });
    });
    await new Promise<void>((resolve) =>
      udp.close(() => {
        resolve();
      }),
    );
    if (ok) {
      await new Promise<void>((resolve) =>
        tcp.close(() => {
          resolve();
        }),
      );
      return port;
    }
  }
}

/**
 * Starts dnsmasq with `args` (records such as `--host-record=…`, `--txt-record=…`) and waits
 * until it answers `probe` (a name it has a record for).
 */
export async function startDnsmasq(options: {
  address: string;
  args: readonly string[];
  probe: string;
  cpu?: string | undefined;
}): Promise<Dnsmasq> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort(options.address);
    const dnsmasqArgs = [
      '--no-daemon',
      '--conf-file=/dev/null',
      `--port=${port}`,
      `--listen-address=${options.address}`,
      '--bind-interfaces',
      '--no-resolv',
      '--no-hosts',
      '--pid-file=',
      ...options.args,
    ];
    const child: ChildProcess =
      options.cpu === undefined
        ? spawn('dnsmasq', dnsmasqArgs, { stdio: ['ignore', 'ignore', 'pipe'] })
        : spawn('taskset', ['-c', options.cpu, 'dnsmasq', ...dnsmasqArgs], {
            stdio: ['ignore', 'ignore', 'pipe'],
          });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const state = { exited: false };
    const exit = new Promise<void>((resolve) =>
      child.once('exit', () => {
        state.exited = true;
        resolve();
      }),
    );
    for (let i = 0; i < 100 && !state.exited; i++) {
      const answer = await udpExchange(port, makeQuery(options.probe, 'A'), {
        address: options.address,
        timeoutMs: 100,
      });
      if (answer !== undefined && child.pid !== undefined) {
        const pid = child.pid;
        return {
          address: options.address,
          port,
          pid,
          close: async () => {
            if (!state.exited) {
              process.kill(pid, 'SIGTERM');
              await exit;
            }
          },
        };
      }
    }
    if (!state.exited && child.pid !== undefined) {
      process.kill(child.pid, 'SIGKILL');
      await exit;
    }
    if (attempt === 2) throw new Error(`dnsmasq did not start: ${stderr}`);
  }
  throw new Error('dnsmasq did not start');
}
