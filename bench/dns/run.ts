/**
 * `npm run bench:dns`: the agent's DNS server against dnsmasq, same machine, same data, same
 * run, measured with dnsperf. Each server under test is pinned to one core with taskset; dnsperf
 * and the shared upstream (another dnsmasq) run on the other core. Scenarios: alias hits (local
 * answers; dnsmasq answers the same names from --host-record), forwarded queries (dnsmasq with its
 * cache off, both forwarding to the same loopback upstream), and alias hits over TCP with 100
 * queries per connection. For each: the highest QPS, and p50/p99 latency at a fixed 5,000 q/s.
 * Every load is bounded by dnsperf's -l (seconds); every process started here is killed by PID.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDnsmasq, which } from '../../test/helpers/dns-dnsmasq.js';

const NAMES = 1000;
const MAX_SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const FIXED_SECONDS = 4;
const FIXED_QPS = 5000;
/** Each server is measured this many times, alternating, and the best run counts (damps noise). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const cores = os.availableParallelism();
const SERVER_CPU = cores > 1 ? '1' : '0';
const LOAD_CPU = '0';

interface Scenario {
  readonly name: string;
  readonly file: string;
  readonly mode: 'udp' | 'tcp';
  readonly target: number;
  /** dnsmasq first (the baseline), then the agent, then references. */
  readonly servers: readonly Server[];
}
interface Result {
  qps: number;
  lost: number;
  p50: number;
  p99: number;
}
interface Server {
  readonly name: string;
  readonly address: string;
  readonly port: number;
}

function run(cmd: string, args: string[], limitMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, limitMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const out = Buffer.concat(chunks).toString();
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} exited with ${code}: ${out.slice(-2000)}`));
    });
  });
}

function field(out: string, label: string): number {
  const match = new RegExp(`${label}:\\s+([\\d.]+)`).exec(out);
  if (match?.[1] === undefined)
    throw new Error(`dnsperf output has no "${label}":\n${out.slice(-1500)}`);
  return Number(match[1]);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

async function dnsperf(
  server: Server,
  s: Scenario,
  extra: string[],
  seconds: number,
): Promise<string> {
  const args = [
    '-c',
    LOAD_CPU,
    'dnsperf',
    '-s',
    server.address,
    '-p',
    String(server.port),
    '-d',
    s.file,
  ];
  args.push('-m', s.mode, '-l', String(seconds), '-t', '2', ...extra);
  if (s.mode === 'tcp') args.push('-O', 'num-queries-per-conn=100');
  return run('taskset', args, (seconds + 10) * 1000);
}

async function measure(server: Server, s: Scenario): Promise<Result> {
  await dnsperf(server, s, ['-c', '4', '-q', '200'], 1); // warm-up
  const max = await dnsperf(server, s, ['-c', '4', '-q', '200'], MAX_SECONDS);
  const fixed = await dnsperf(server, s, ['-c', '4', '-Q', String(FIXED_QPS), '-v'], FIXED_SECONDS);
  const latencies = [...fixed.matchAll(/^> \S+ \S+ \S+ ([\d.]+)$/gm)]
    .map((m) => Number(m[1]) * 1000)
    .sort((a, b) => a - b);
  return {
    qps: field(max, 'Queries per second'),
    lost: field(max, 'Queries lost') + field(fixed, 'Queries lost'),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

/** Starts a bench server script (tsx) pinned to the server core; resolves at its `READY <port>`. */
function startNodeServer(
  root: string,
  name: string,
  address: string,
  script: string,
  args: string[],
): Promise<{ server: Server; close: () => Promise<void> }> {
  const child = spawn(
    'taskset',
    [
      '-c',
      SERVER_CPU,
      process.execPath,
      '--import',
      'tsx',
      path.join(root, script),
      '--address',
      address,
      ...args,
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.pid !== undefined) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(child.pid, 'SIGTERM');
      await exited;
    }
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`${name} did not start in 20 s`));
    }, 20_000);
    child.stdout.on('data', (c: Buffer) => {
      const match = /READY (\d+)/.exec(c.toString());
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve({ server: { name, address, port: Number(match[1]) }, close });
      }
    });
    child.on('exit', (code) => {
      reject(new Error(`${name} exited with ${code}`));
    });
  });
}

async function main(): Promise<void> {
  const missing = ['dnsperf', 'dnsmasq', 'taskset'].filter((p) => which(p) === undefined);
  if (missing.length > 0) {
    console.log(
      `bench:dns needs ${missing.join(', ')} (Debian: dnsperf, dnsmasq-base, util-linux)`,
    );
    process.exitCode = 1;
    return;
  }
  // this process reads dnsperf's per-query lines: it belongs on the load core, not the servers'
  spawnSync('taskset', ['-a', '-p', '-c', LOAD_CPU, String(process.pid)], { stdio: 'ignore' });
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-dns-'));
  const ip = (i: number, net: number): string => `${net}.${Math.floor(i / 256) % 256}.${i % 256}.1`;
  const names = (prefix: string): string[] =>
    Array.from({ length: NAMES }, (_, i) => `${prefix}${i}.bench`);
  const aliasFile = path.join(dir, 'aliases.txt');
  const forwardFile = path.join(dir, 'forward.txt');
  await fs.writeFile(
    aliasFile,
    names('alias')
      .map((n) => `${n} A\n`)
      .join(''),
  );
  await fs.writeFile(
    forwardFile,
    names('fwd')
      .map((n) => `${n} A\n`)
      .join(''),
  );
  const started: { close(): Promise<void> }[] = [];
  try {
    const upstream = await startDnsmasq({
      address: '127.0.0.20',
      probe: 'fwd0.bench',
      cpu: LOAD_CPU,
      args: names('fwd').map((n, i) => `--host-record=${n},${ip(i, 10)}`),
    });
    started.push(upstream);
    const dnsmasq = await startDnsmasq({
      address: '127.0.0.21',
      probe: 'alias0.bench',
      cpu: SERVER_CPU,
      args: [
        '--cache-size=0',
        '--no-negcache',
        `--server=${upstream.address}#${upstream.port}`,
        ...names('alias').map((n, i) => `--host-record=${n},${ip(i, 100)}`),
      ],
    });
    started.push(dnsmasq);
    const agent = await startNodeServer(root, 'agent', '127.0.0.22', 'bench/dns/server.ts', [
      '--upstream',
      `${upstream.address}:${upstream.port}`,
      '--aliases',
      String(NAMES),
    ]);
    started.push(agent);
    const echo = await startNodeServer(
      root,
      'node-echo',
      '127.0.0.23',
      'bench/dns/echo-server.ts',
      [],
    );
    started.push(echo);
    const dnsmasqServer: Server = { name: 'dnsmasq', address: dnsmasq.address, port: dnsmasq.port };
    const scenarios: Scenario[] = [
      {
        name: 'alias hits (UDP)',
        file: aliasFile,
        mode: 'udp',
        target: 0.8,
        servers: [dnsmasqServer, agent.server, echo.server],
      },
      {
        name: 'forwarded (UDP)',
        file: forwardFile,
        mode: 'udp',
        target: 1.2,
        servers: [dnsmasqServer, agent.server],
      },
      {
        name: 'alias hits (TCP, 100/conn)',
        file: aliasFile,
        mode: 'tcp',
        target: 0.5,
        servers: [dnsmasqServer, agent.server],
      },
    ];
    console.log(
      `bench:dns on ${cores} cores (${os.cpus()[0]?.model ?? '?'}); servers on CPU ${SERVER_CPU}, dnsperf and upstream on CPU ${LOAD_CPU}; ${MAX_SECONDS} s at full load, ${FIXED_SECONDS} s at ${FIXED_QPS} q/s; best of ${ROUNDS} alternating rounds\n`,
    );
    const header =
      'scenario                     server     QPS      lost   p50 ms  p99 ms  QPS ratio (target); p99 target';
    console.log(header);
    let allMet = true;
    for (const scenario of scenarios) {
      const best = new Map<string, Result>();
      for (let round = 0; round < ROUNDS; round++) {
        for (const server of scenario.servers) {
          const r = await measure(server, scenario);
          const previous = best.get(server.name);
          best.set(server.name, {
            qps: Math.max(r.qps, previous?.qps ?? 0),
            lost: r.lost + (previous?.lost ?? 0),
            p50: Math.min(r.p50, previous?.p50 ?? Infinity),
            p99: Math.min(r.p99, previous?.p99 ?? Infinity),
          });
        }
      }
      const base = best.get('dnsmasq');
      for (const server of scenario.servers) {
        const r = best.get(server.name);
        if (r === undefined || base === undefined) continue;
        const ratio = server.name === 'dnsmasq' ? undefined : r.qps / base.qps;
        const judged = server.name === 'agent';
        const qpsMet = ratio !== undefined && ratio >= scenario.target;
        const p99Met = r.p99 <= 1;
        allMet &&= !judged || (qpsMet && p99Met);
        console.log(
          [
            scenario.name.padEnd(28),
            server.name.padEnd(10),
            r.qps.toFixed(0).padStart(7),
            String(r.lost).padStart(6),
            r.p50.toFixed(3).padStart(8),
            r.p99.toFixed(3).padStart(7),
            ratio === undefined
              ? ''
              : judged
                ? `  ${ratio.toFixed(2)}x (>= ${scenario.target}x) ${qpsMet ? 'met' : 'NOT MET'}; p99 <= 1 ms ${p99Met ? 'met' : 'NOT MET'} (dnsmasq's own: ${base.p99.toFixed(3)} ms)`
                : `  ${ratio.toFixed(2)}x (reference: a bare Node dgram echo, no DNS work)`,
          ].join(' '),
        );
      }
    }
    console.log(allMet ? '\nall targets met' : '\nsome targets not met');
  } finally {
    for (const s of started.reverse()) await s.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

await main();
