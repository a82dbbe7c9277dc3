/**
 * Proxy benchmark: bulk throughput and connect-to-first-byte latency through the agent's proxy
 * (agent → stand-in worker over TLS 1.3 + WebSocket → echo target), against a direct loopback TCP
 * connection to the same echo target, measured in the same run. Everything runs on loopback in
 * this process, so the proxy pays for both its own and the worker's work.
 * Run: npm run bench:proxy [-- MiB]
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { echoThrough, PROXY_IP, startProxyBed } from '../../test/helpers/proxy-bed.js';

const MIB = Number(process.argv[2] ?? '128');
const LATENCY_ROUNDS = 300;

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
 * Rows in /proc/net/tcp: the peer lookup reads up to them (TIME_WAIT sockets included, which
 * every closed connection leaves for a minute), so they weigh on the agent's latency.
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
async function firstByteLatencies(host: string, port: number, reset: boolean): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < LATENCY_ROUNDS; i++) {
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

const bed = await startProxyBed({ quiet: true });
try {
  const proxyPort = await bed.prepare();
  const echo = bed.echo.address();
  const data = randomBytes(MIB * 1024 * 1024);
  // Warm both paths once.
  await throughput(echo.host, echo.port, data.subarray(0, 1 << 20));
  await throughput(PROXY_IP, proxyPort, data.subarray(0, 1 << 20));
  const direct = await throughput(echo.host, echo.port, data);
  const proxied = await throughput(PROXY_IP, proxyPort, data);
  const directLat = await firstByteLatencies(echo.host, echo.port, true);
  const rowsBefore = tcpRows();
  const proxyLat = await firstByteLatencies(PROXY_IP, proxyPort, false);
  const rowsAfter = tcpRows();
  const f = (n: number) => n.toFixed(2);
  process.stdout.write(
    [
      `proxy benchmark: ${MIB} MiB echoed (both directions at once), ${LATENCY_ROUNDS} connect-to-first-byte rounds, warm session`,
      `  throughput  direct ${f(direct)} MiB/s, through the agent ${f(proxied)} MiB/s: ratio ${f(proxied / direct)} (target >= 0.5)`,
      `  first byte  direct p50 ${f(pct(directLat, 50))} ms p99 ${f(pct(directLat, 99))} ms; through the agent p50 ${f(pct(proxyLat, 50))} ms p99 ${f(pct(proxyLat, 99))} ms (target p50 <= 2 ms)`,
      `  /proc/net/tcp rows during the agent's rounds: ${rowsBefore ?? '?'} before, ${rowsAfter ?? '?'} after`,
      '',
    ].join('\n'),
  );
} finally {
  await bed.close();
}
