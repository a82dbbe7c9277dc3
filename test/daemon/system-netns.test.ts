/**
 * The root daemon as a service runs it, inside a network namespace this test creates (root
 * only): it adds its addresses, takes the namespace's resolver over, answers DNS on port 53 and
 * its control API; SIGTERM gives everything back byte for byte; after a kill -9,
 * `daemon --cleanup` does. The host's interfaces and resolv.conf are never touched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createNamespace,
  netnsSkipReason,
  startInNamespace,
  tearDown,
  writeDaemonConfig,
  type TestNamespace,
} from '../helpers/netns.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'dist/cli/bin.js');
const ORIGINAL =
  '# the namespace resolver\nsearch corp.test\nnameserver 192.0.2.53\noptions ndots:1\n';

const reason = netnsSkipReason();
if (reason !== undefined) console.log(`skipping the daemon namespace test: ${reason}`);

describe.skipIf(reason !== undefined)('client-agent daemon in a network namespace', () => {
  let namespace: TestNamespace;
  let ns = '';
  let resolvConf = '';
  let dir = '';
  let configFile = '';
  const children: ChildProcess[] = [];
  const inNs = (...args: string[]): string => namespace.run(...args);

  const startInNs = (args: string[], ready: string) =>
    startInNamespace(ns, children, [BIN, ...args], ready);

  const startDaemon = () =>
    startInNs(['daemon', '--config', configFile], 'client-agent daemon running');

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-daemon-'));
    configFile = writeDaemonConfig(dir);
    namespace = createNamespace('ca-d', ORIGINAL);
    ns = namespace.name;
    resolvConf = namespace.resolvConf;
  });

  afterAll(() => {
    tearDown(children, namespace, dir);
  });

  it('takes the resolver over while running and gives everything back on SIGTERM', async () => {
    const { child } = await startDaemon();
    const taken = fs.readFileSync(resolvConf, 'utf8');
    expect(taken).toMatch(/nameserver 100\.64\.0\.1/);
    expect(taken.indexOf('100.64.0.1')).toBeLessThan(taken.indexOf('192.0.2.53'));
    expect(inNs('ip', '-o', 'addr', 'show', 'dev', 'ca0')).toContain('100.64.0.1/32');
    const status = JSON.parse(inNs(process.execPath, BIN, 'status', '-format=json')) as {
      item: { status: string };
    };
    expect(status.item.status).toBe('running');
    // The DNS server answers on port 53 of its address (an unknown name: forwarded, the upstream is dead).
    const dig = inNs('dig', '@100.64.0.1', 'nothing.corp.test', '+time=5', '+tries=1');
    expect(dig).toMatch(/status: SERVFAIL/);
    // SIGHUP: the reloadable keys apply, the others are reported as needing a restart.
    const original = fs.readFileSync(configFile, 'utf8');
    fs.writeFileSync(
      configFile,
      `${original}log_level = "debug"\nalias_refresh_interval = "30s"\nlisten_port = 9444\n`,
    );
    child.kill('SIGHUP');
    const deadline = Date.now() + 5_000;
    while (
      !fs.readFileSync(path.join(dir, 'agent.log'), 'utf8').includes('Configuration reloaded.') &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    fs.writeFileSync(configFile, original);
    const reloaded = fs
      .readFileSync(path.join(dir, 'agent.log'), 'utf8')
      .split('\n')
      .find((l) => l.includes('Configuration reloaded.'));
    expect(JSON.parse(reloaded ?? '{}')).toMatchObject({
      applied: ['aliasRefreshIntervalMs', 'logLevel'],
      needsRestart: ['listenPort'],
    });
    const warnings = (
      JSON.parse(inNs(process.execPath, BIN, 'status', '-format=json')) as {
        item: { warnings: string[] };
      }
    ).item.warnings;
    expect(warnings.join(' ')).toContain(
      'listenPort changed in the config file: restart the agent',
    );
    const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(fs.readFileSync(resolvConf, 'utf8')).toBe(ORIGINAL);
    expect(inNs('ip', '-o', 'addr', 'show', 'dev', 'ca0')).not.toContain('100.64.');
    expect(fs.existsSync(path.join(dir, 'state.json'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'platform-state.json'))).toBe(false);
  }, 60_000);

  it('after kill -9, `daemon --cleanup` restores the resolver and removes the addresses', async () => {
    const { child } = await startDaemon();
    const exit = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exit;
    expect(fs.readFileSync(resolvConf, 'utf8')).toMatch(/100\.64\.0\.1/);
    inNs(process.execPath, BIN, 'daemon', '--config', configFile, '--cleanup');
    expect(fs.readFileSync(resolvConf, 'utf8')).toBe(ORIGINAL);
    expect(inNs('ip', '-o', 'addr', 'show', 'dev', 'ca0')).not.toContain('100.64.');
    expect(fs.existsSync(path.join(dir, 'platform-state.json'))).toBe(false);
  }, 60_000);

  it('refuses to start when port 53 is held, naming the holder, and leaves the machine as it was', async () => {
    const holder = spawn(
      'ip',
      [
        'netns',
        'exec',
        ns,
        process.execPath,
        '-e',
        "require('dgram').createSocket('udp4').bind(53, '0.0.0.0', () => console.log('bound')); setTimeout(() => {}, 30000)",
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    children.push(holder);
    await new Promise<void>((resolve) =>
      holder.stdout.once('data', () => {
        resolve();
      }),
    );
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(
        'ip',
        ['netns', 'exec', ns, process.execPath, BIN, 'daemon', '--config', configFile],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      children.push(child);
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.once('exit', (code) => {
        resolve({ code, stderr });
      });
    });
    holder.kill('SIGKILL');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/port 53 on 100\.64\.0\.1 is in use by node \(pid \d+\)/);
    expect(fs.readFileSync(resolvConf, 'utf8')).toBe(ORIGINAL);
    expect(inNs('ip', '-o', 'addr', 'show', 'dev', 'ca0')).not.toContain('100.64.');
  }, 60_000);

  it('dev --system: getent, dig and a TCP client resolve the echo alias through the system resolver and reach the target', async () => {
    const stateDir = path.join(dir, 'dev');
    const { child } = await startInNs(
      [
        'dev',
        '--system',
        '--state-dir',
        stateDir,
        '--controller-port',
        '0',
        '--worker-port',
        '0',
        '--upstream',
        '127.0.0.1:9',
      ],
      'Stop with Ctrl-C.',
    );
    expect(fs.readFileSync(resolvConf, 'utf8')).toMatch(/nameserver 100\.64\.0\.1/);
    const dig = inNs('dig', '+short', 'echo.boundary.dev').trim();
    expect(dig).toMatch(/^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.\d+\.\d+$/);
    expect(inNs('getent', 'ahosts', 'echo.boundary.dev')).toContain(dig);
    expect(inNs('getent', 'hosts', 'echo.boundary.dev')).toMatch(/^fd62:6f75:6e64:/);
    const echoed = inNs(
      process.execPath,
      '-e',
      "const s = require('net').connect(7777, 'echo.boundary.dev', () => s.write('via the system resolver')); s.on('data', (d) => { process.stdout.write(d); s.destroy(); });",
    );
    expect(echoed).toBe('via the system resolver');
    const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    expect(await exit).toBe(0);
    expect(fs.readFileSync(resolvConf, 'utf8')).toBe(ORIGINAL);
    expect(inNs('ip', '-o', 'addr', 'show', 'dev', 'ca0')).not.toContain('100.64.');
  }, 60_000);
});
