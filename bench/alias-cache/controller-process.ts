/**
 * The stand-in controller in a process of its own, so the benchmark measures only the agent's
 * CPU. Builds N aliases, prints its address, then applies "change K" lines from stdin
 * (K/2 updates, K/4 adds, K/4 deletes) and answers "ok".
 */
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { StandInController, buildDirectory, SessionStore } from '../../src/devserver/index.js';
import { systemClock } from '../../src/lib/index.js';

const count = Number(process.argv[2] ?? '100000');
const target = 'ttcp_bench00001';
const directory = buildDirectory(
  {
    users: [
      { id: 'u_bench00001', login_name: 'bench', password: 'bench-password', grants: [{ target }] },
    ],
    targets: [{ id: target, address: '127.0.0.1', port: 9 }],
    aliases: [],
  },
  systemClock,
);
const ids: string[] = [];
for (let i = 0; i < count; i++)
  ids.push(directory.addAlias({ value: `host-${i}.bench.corp`, destinationId: target }).id);
const sessions = new SessionStore(systemClock);
const controller = new StandInController({
  directory,
  sessions,
  workerAddress: () => '127.0.0.1:9202',
  log: pino({ level: 'silent' }),
});
await controller.start();
process.stdout.write(`${controller.address}\n`);

let next = count;
for await (const line of createInterface({ input: process.stdin })) {
  const m = /^change (\d+)$/.exec(line.trim());
  if (m === null) break;
  const k = Number(m[1]);
  for (let i = 0; i < k / 2; i++)
    directory.updateAlias(ids[i] ?? '', { value: `renamed-${next++}.bench.corp` });
  for (let i = 0; i < k / 4; i++)
    directory.addAlias({ value: `added-${next++}.bench.corp`, destinationId: target });
  for (let i = 0; i < k / 4; i++) directory.removeAlias(ids.pop() ?? '');
  process.stdout.write('ok\n');
}
await controller.close();
sessions.close();
