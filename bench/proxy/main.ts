/**
 * Proxy benchmark: bulk throughput and connect-to-first-byte latency through the agent's proxy
 * (agent → stand-in worker over TLS 1.3 + WebSocket → echo target), against a direct loopback TCP
 * connection to the same echo target, measured in the same run. The stand-in controller, worker
 * and echo target run in a child process (standin-process.ts), as in production the worker is
 * another machine; this process runs the agent and the benchmark's clients. Both paths cross the
 * same process boundary to the same echo target. Each round measures both paths, one after the
 * other; the summary gives the median and the spread (min–max) over the rounds.
 * Run: npm run bench:proxy [-- MiB [ROUNDS]]
 */
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { systemClock } from '../../src/lib/index.js';
import { LinuxPeerCredentials } from '../../src/platform/index.js';
import { echoThrough, PROXY_IP, startAgentSide } from '../../test/helpers/proxy-bed.js';

const MIB = Number(process.argv[2] ?? '128');
const ROUNDS = Number(process.argv[3] ?? '3');
const LATENCY_ROUNDS = 300;
/** Connections through the agent with a pause before each (the session's spare is then up). */
const SPACED_ROUNDS = 100;
const SPACED_PAUSE_MS = 20;

function connectTo(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port }, () => {
      resolve(socket);
    });
    socket.setNoDelay(true);
    socket.once('error', reject);
  });
}

async function throughput(host: string, port: number, data: Buffer): Promise<number> {
  const start = performance.now();
  const back = await echoThrough(await connectTo(host, port), data);
  const seconds = (performance.now() - start) / 1000;
  if (
    createHash('sha1').update(back).digest('hex') !== createHash('sha1').update(data).digest('hex')
  ) {
    throw new Error('the echo differs from what was sent');
  }
  return data.length / 1024 / 1024 / seconds;
}

/**
 * Rows in /proc/net/tcp (TIME_WAIT sockets included, which every closed connection leaves for a
 * minute). The peer lookup asks the kernel over sock_diag netlink by the exact four-tuple, which
 * does not depend on them; only its /proc fallback reads up to its row.
 */
function tcpRows(): number | undefined {
  try {
    return readFileSync('/proc/net/tcp', 'latin1').split('\n').length - 2;
  } catch {
    return undefined;
  }
}

/**
 * Connect, send a byte, wait for its echo. `reset` closes with RST: the direct rounds leave no
 * TIME_WAIT behind to slow the agent's peer lookup; the agent's rounds close as clients do.
 */
async function firstByteLatencies(
  host: string,
  port: number,
  reset: boolean,
  rounds = LATENCY_ROUNDS,
  pauseMs = 0,
): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    const start = performance.now();
    const socket = await connectTo(host, port);
    await new Promise<void>((resolve, reject) => {
      socket.once('data', () => {
        resolve();
      });
      socket.once('error', reject);
      socket.write('x');
    });
    samples.push(performance.now() - start);
    if (reset) socket.resetAndDestroy();
    else socket.destroy();
  }
  return samples.sort((a, b) => a - b);
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** CPU seconds (user + system) a process has used so far, from /proc; undefined elsewhere. */
function cpuSecondsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields after the command's closing parenthesis; utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** This process's CPU seconds so far. */
function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** The peer-uid lookup alone, on a loopback connection of this process (the agent's floor). */
async function peerLookupLatencies(rounds: number): Promise<number[]> {
  const peers = new LinuxPeerCredentials();
  const server = net.createServer((s) => s.on('error', () => undefined));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const samples: number[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      const socket = await connectTo('127.0.0.1', port);
      const start = performance.now();
      await peers.uidOf(
        { address: '127.0.0.1', port: socket.localPort ?? 0 },
        { address: '127.0.0.1', port },
      );
      samples.push(performance.now() - start);
      socket.resetAndDestroy();
    }
  } finally {
    server.close();
  }
  return samples.sort((a, b) => a - b);
}

const median = (values: number[]) =>
  pct(
    [...values].sort((a, b) => a - b),
    50,
  );
/** `median (min–max)` of per-round figures. */
function spread(values: number[], digits = 2): string {
  const f = (n: number) => n.toFixed(digits);
  return `${f(median(values))} (${f(Math.min(...values))}–${f(Math.max(...values))})`;
}

/** The stand-in side in a child process; its output is read, never inherited. */
async function startChild(): Promise<{
  info: { controller: string; authMethodId: string; echo: { host: string; port: number } };
  stop: () => void;
  pid: number | undefined;
}> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(import.meta.dirname, 'standin-process.ts')],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const stop = () => {
    child.stdin.end();
    setTimeout(() => child.kill(), 2_000).unref();
  };
  const first = await Promise.race([
    createInterface({ input: child.stdout })[Symbol.asyncIterator]().next(),
    new Promise<never>((_, reject) =>
      setTimeout(() => {
        reject(new Error('the stand-in process did not start within 30 s'));
      }, 30_000).unref(),
    ),
  ]).catch((err: unknown) => {
    stop();
    throw err;
  });
  if (first.done === true) {
    stop();
    throw new Error(`the stand-in process ended: ${stderr}`);
  }
  return { info: JSON.parse(first.value) as never, stop, pid: child.pid };
}

const child = await startChild();
const agent = await startAgentSide({
  controllerAddress: child.info.controller,
  authMethodId: child.info.authMethodId,
  clock: systemClock,
  log: pino({ level: 'silent' }),
});
try {
  const proxyPort = await agent.prepare();
  const echo = child.info.echo;
  const data = randomBytes(MIB * 1024 * 1024);
  // Warm both paths once.
  await throughput(echo.host, echo.port, data.subarray(0, 1 << 20));
  await throughput(PROXY_IP, proxyPort, data.subarray(0, 1 << 20));
  const rows: {
    direct: number;
    proxied: number;
    dLat: number[];
    pLat: number[];
    spaced: number[];
    dSpaced: number[];
    lookup: number[];
    agentCpu: number;
    standInCpu: number | undefined;
    seconds: number;
  }[] = [];
  const rowsBefore = tcpRows();
  for (let round = 0; round < ROUNDS; round++) {
    const direct = await throughput(echo.host, echo.port, data);
    const agentCpu = ownCpuSeconds();
    const standInCpu = cpuSecondsOf(child.pid);
    const proxied = await throughput(PROXY_IP, proxyPort, data);
    const standInAfter = cpuSecondsOf(child.pid);
    const cpu = {
      agentCpu: ownCpuSeconds() - agentCpu,
      standInCpu:
        standInCpu === undefined || standInAfter === undefined
          ? undefined
          : standInAfter - standInCpu,
      seconds: MIB / proxied,
    };
    const dLat = await firstByteLatencies(echo.host, echo.port, true);
    const pLat = await firstByteLatencies(PROXY_IP, proxyPort, false);
    const spaced = await firstByteLatencies(
      PROXY_IP,
      proxyPort,
      false,
      SPACED_ROUNDS,
      SPACED_PAUSE_MS,
    );
    // The same pause before direct connections: what waking idle processes costs on this machine.
    const dSpaced = await firstByteLatencies(
      echo.host,
      echo.port,
      true,
      SPACED_ROUNDS,
      SPACED_PAUSE_MS,
    );
    const lookup = await peerLookupLatencies(LATENCY_ROUNDS);
    rows.push({ direct, proxied, dLat, pLat, spaced, dSpaced, lookup, ...cpu });
  }
  const rowsAfter = tcpRows();
  const f = (n: number) => n.toFixed(2);
  const lines = [
    `proxy benchmark: ${MIB} MiB echoed (both directions at once), ${LATENCY_ROUNDS} connect-to-first-byte rounds, warm session; stand-in worker and echo target in another process; ${ROUNDS} rounds`,
  ];
  rows.forEach((r, i) => {
    lines.push(
      `  round ${i + 1}: throughput direct ${f(r.direct)} MiB/s, agent ${f(r.proxied)} MiB/s, ratio ${f(r.proxied / r.direct)} (CPU during the agent's ${f(r.seconds)} s: agent process ${f(r.agentCpu)} s, stand-in process ${r.standInCpu === undefined ? '?' : f(r.standInCpu)} s); first byte direct p50 ${f(pct(r.dLat, 50))} p99 ${f(pct(r.dLat, 99))} ms, agent p50 ${f(pct(r.pLat, 50))} p99 ${f(pct(r.pLat, 99))} ms, agent ${SPACED_PAUSE_MS} ms apart p50 ${f(pct(r.spaced, 50))} ms; peer-uid lookup alone p50 ${f(pct(r.lookup, 50))} ms`,
    );
  });
  lines.push(
    `  throughput ratio (agent / direct), median (min–max): ${spread(rows.map((r) => r.proxied / r.direct))} (target >= 0.5); direct ${spread(
      rows.map((r) => r.direct),
      1,
    )} MiB/s, agent ${spread(
      rows.map((r) => r.proxied),
      1,
    )} MiB/s`,
    `  first byte through the agent, connections back to back: p50 ${spread(rows.map((r) => pct(r.pLat, 50)))} ms, p99 ${spread(rows.map((r) => pct(r.pLat, 99)))} ms (target p50 <= 2 ms); direct p50 ${spread(rows.map((r) => pct(r.dLat, 50)))} ms, p99 ${spread(rows.map((r) => pct(r.dLat, 99)))} ms`,
    `  first byte through the agent, connections ${SPACED_PAUSE_MS} ms apart (${SPACED_ROUNDS} a round; the session's spare worker connection is up): p50 ${spread(rows.map((r) => pct(r.spaced, 50)))} ms, p99 ${spread(rows.map((r) => pct(r.spaced, 99)))} ms; direct with the same pause p50 ${spread(rows.map((r) => pct(r.dSpaced, 50)))} ms`,
    `  peer-uid lookup alone (part of every agent connection): p50 ${spread(rows.map((r) => pct(r.lookup, 50)))} ms`,
    `  cores busy during the agent's bulk echo (agent + stand-in process CPU / wall time, of ${os.cpus().length}): ${spread(
      rows.flatMap((r) =>
        r.standInCpu === undefined ? [] : [(r.agentCpu + r.standInCpu) / r.seconds],
      ),
    )}`,
    `  /proc/net/tcp rows: ${rowsBefore ?? '?'} before the rounds, ${rowsAfter ?? '?'} after`,
    '',
  );
  process.stdout.write(lines.join('\n'));
} finally {
  // Ends the session (cancelled at the worker) and with it its expiry timer.
  await agent.sessions.endAll('stopped');
  await agent.close();
  child.stop();
}
