/**
 * Where a proxied connection's setup time goes, step by step, with the stand-in in another
 * process as in main.ts: the peer-uid lookup, a worker connection's TLS + WebSocket (prepare),
 * its handshake, the first echoed byte over it, and the whole connect-to-first-byte through the
 * agent, back to back and with a pause before each (so that the session's spare worker
 * connection is up when the client comes). Also the CPU time one worker connection costs each
 * process. Run: npx tsx bench/proxy/steps.ts [ROUNDS]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { WorkerDialer } from '../../src/boundary/index.js';
import { systemClock } from '../../src/lib/index.js';
import { LinuxPeerCredentials } from '../../src/platform/index.js';
import { ALIAS, PROXY_IP, startAgentSide, UID } from '../../test/helpers/proxy-bed.js';

const ROUNDS = Number(process.argv[2] ?? '200');
/** The pause before each "spaced" connection. */
const PAUSE_MS = 20;

const pct = (samples: number[], p: number) =>
  [...samples].sort((a, b) => a - b)[
    Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))
  ] ?? NaN;

function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const ownCpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

async function firstByte(host: string, port: number): Promise<number> {
  const start = performance.now();
  const socket = net.connect({ host, port, noDelay: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('data', () => {
      resolve();
    });
    socket.once('error', reject);
    socket.write('x');
  });
  const ms = performance.now() - start;
  socket.destroy();
  return ms;
}

const child = spawn(
  process.execPath,
  ['--import', 'tsx', path.join(import.meta.dirname, 'standin-process.ts')],
  { stdio: ['pipe', 'pipe', 'inherit'] },
);
const first = await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next();
const info = JSON.parse(String(first.value)) as { controller: string; authMethodId: string };
const log = pino({ level: 'silent' });
const agent = await startAgentSide({
  controllerAddress: info.controller,
  authMethodId: info.authMethodId,
  clock: systemClock,
  log,
});
try {
  const port = await agent.prepare();
  const entry = agent.cache.snapshot().lookup(ALIAS);
  const session = entry === undefined ? undefined : agent.sessions.current(UID, entry.value);
  if (session === undefined) throw new Error('no session');
  const dialer = new WorkerDialer({ clock: systemClock, log });
  const peers = new LinuxPeerCredentials();
  const t = {
    lookup: [] as number[],
    prepare: [] as number[],
    handshake: [] as number[],
    echo: [] as number[],
    'agent, back to back': [] as number[],
    [`agent, ${PAUSE_MS} ms apart`]: [] as number[],
  };
  const server = net.createServer((s) => s.on('error', () => undefined));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const lport = (server.address() as net.AddressInfo).port;
  let own = 0;
  let standIn = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const c = net.connect({ host: '127.0.0.1', port: lport });
    await new Promise((resolve) => c.once('connect', resolve));
    let at = performance.now();
    await peers.uidOf(
      { address: '127.0.0.1', port: c.localPort ?? 0 },
      { address: '127.0.0.1', port: lport },
    );
    t.lookup.push(performance.now() - at);
    c.destroy();
    const own0 = ownCpuMs();
    const standIn0 = cpuMsOf(child.pid ?? 0);
    at = performance.now();
    const prepared = await dialer.prepare(session.data, AbortSignal.timeout(5_000));
    t.prepare.push(performance.now() - at);
    own += ownCpuMs() - own0;
    standIn += cpuMsOf(child.pid ?? 0) - standIn0;
    at = performance.now();
    const stream = await prepared.handshake(session.tofu, AbortSignal.timeout(5_000));
    t.handshake.push(performance.now() - at);
    at = performance.now();
    await new Promise<void>((resolve) => {
      stream.once('data', () => {
        resolve();
      });
      stream.write('x');
    });
    t.echo.push(performance.now() - at);
    stream.destroy();
    t['agent, back to back'].push(await firstByte(PROXY_IP, port));
    await sleep(PAUSE_MS);
    t[`agent, ${PAUSE_MS} ms apart`].push(await firstByte(PROXY_IP, port));
  }
  server.close();
  console.log(
    `steps of a proxied connection, ${ROUNDS} rounds, warm session (ms; "prepare" is the worker connection's TCP + TLS + WebSocket upgrade)`,
  );
  for (const [k, v] of Object.entries(t)) {
    console.log(
      `  ${k.padEnd(24)} p50 ${pct(v, 50).toFixed(2)}  p90 ${pct(v, 90).toFixed(2)}  p99 ${pct(v, 99).toFixed(2)}`,
    );
  }
  console.log(
    `  CPU per worker connection set up (prepare): this process ${(own / ROUNDS).toFixed(2)} ms, stand-in process ${(standIn / ROUNDS).toFixed(2)} ms (clock ticks: 10 ms resolution, averaged)`,
  );
} finally {
  await agent.sessions.endAll('stopped');
  await agent.close();
  child.stdin.end();
}
