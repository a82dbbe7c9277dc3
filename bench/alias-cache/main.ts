/**
 * Alias cache benchmark: a full listing of 100,000 aliases, then a delta refresh after 100
 * changes, against the stand-in controller in another process. Reports the agent's own CPU time
 * (user + system) for each, and the delta's cost as a fraction of the full listing's.
 * Run: npm run bench:aliases [-- COUNT]
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { AliasCache } from '../../src/alias-cache/index.js';
import { ControllerClient } from '../../src/boundary/index.js';
import { ManualClock } from '../../src/lib/index.js';

const COUNT = Number(process.argv[2] ?? '100000');
const CHANGES = 100;
const UID = 1000;

const child = spawn(
  process.execPath,
  ['--import', 'tsx', path.join(import.meta.dirname, 'controller-process.ts'), String(COUNT)],
  {
    stdio: ['pipe', 'pipe', 'inherit'],
  },
);
const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
const nextLine = async (): Promise<string> => {
  const r = await lines.next();
  if (r.done === true) throw new Error('the controller process ended');
  return r.value;
};

async function measure(what: () => Promise<void>): Promise<{ wallMs: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await what();
  const used = process.cpuUsage(cpu);
  return { wallMs: performance.now() - start, cpuMs: (used.user + used.system) / 1000 };
}

try {
  const address = await nextLine();
  const client = new ControllerClient({ address, timeoutMs: 120_000 });
  const { token } = await client.authenticate('ampw_1234567890', 'bench', 'bench-password');
  const cache = new AliasCache({
    clientFor: () => client,
    clock: new ManualClock(),
    log: pino({ level: 'silent' }),
    refreshIntervalMs: 60_000,
    pageSize: 1000,
  });

  const full = await measure(async () => {
    await cache.addToken(UID, address, token);
  });
  const afterFull = cache.snapshot().size;
  child.stdin.write(`change ${CHANGES}\n`);
  await nextLine();
  const delta = await measure(() => cache.refresh(UID));
  const afterDelta = cache.snapshot().size;

  const fmt = (n: number) => n.toFixed(0).padStart(7);
  process.stdout.write(
    [
      `alias cache, ${COUNT} aliases (stand-in controller in another process, page size 1000)`,
      `  full listing:        wall ${fmt(full.wallMs)} ms, agent CPU ${fmt(full.cpuMs)} ms, ${afterFull} aliases cached`,
      `  delta (${CHANGES} changes): wall ${fmt(delta.wallMs)} ms, agent CPU ${fmt(delta.cpuMs)} ms, ${afterDelta} aliases cached`,
      `  delta CPU / full listing CPU: ${(delta.cpuMs / full.cpuMs).toFixed(3)}`,
      `  target: delta CPU well under 1000 ms -> ${delta.cpuMs < 1000 ? 'met' : 'MISSED'}`,
      '',
    ].join('\n'),
  );
  if (afterFull !== COUNT + 0)
    throw new Error(`expected ${COUNT} aliases after the full listing, got ${afterFull}`);
  if (afterDelta !== COUNT)
    throw new Error(`expected ${COUNT} aliases after the delta, got ${afterDelta}`);
  cache.close();
  await client.close();
} finally {
  child.stdin.end();
  child.kill();
}
