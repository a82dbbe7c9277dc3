/**
 * The root daemon as a service runs it, inside a network namespace this test creates (root
 * only): it adds its addresses, takes the namespace's resolver over, answers DNS on port 53 and
 * its control API; SIGTERM gives everything back byte for byte; after a kill -9,
 * `daemon --cleanup` does. The host's interfaces and resolv.conf are never touched.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createNamespace,
  netnsSkipReason,
  startDevSystem,
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
  /** `dev --system`: the full agent against the stand-in, other names going to `upstream`. */
  const startDev = (stateDir: string, upstream: string) =>
    startDevSystem(ns, children, BIN, stateDir, ['--upstream', upstream]);

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
    expect(inNs('ip', '-o', 'addr', 'show', 'dev', 'client-agent')).toContain('100.64.0.1/32');
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
    const { child } = await startDev(stateDir, '127.0.0.1:9');
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

  it('another machine on the link gets REFUSED and resets: no alias lookup, authorization or upstream query', async () => {
    const peer = namespace.addPeer();
    const stateDir = path.join(dir, 'dev-peer');
    // The upstream: a UDP socket in the agent's namespace that reports every query it gets.
    const upstream = spawn(
      'ip',
      [
        'netns',
        'exec',
        ns,
        process.execPath,
        '-e',
        "const s = require('dgram').createSocket('udp4'); s.on('message', () => console.log('query')); s.bind(5399, '127.0.0.1', () => console.log('bound'));",
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    children.push(upstream);
    let upstreamOut = '';
    await new Promise<void>((resolve) => {
      upstream.stdout.on('data', (c: Buffer) => {
        upstreamOut += c.toString();
        if (upstreamOut.includes('bound')) resolve();
      });
    });
    const upstreamQueries = () => upstreamOut.split('\n').filter((l) => l === 'query').length;
    // The synchronous commands below block this process: let the upstream's output come in.
    const settle = () => new Promise((resolve) => setTimeout(resolve, 300));
    const { child } = await startDev(stateDir, '127.0.0.1:5399');
    const sessions = () =>
      (
        JSON.parse(inNs(process.execPath, BIN, 'sessions', '-format=json')) as {
          items: { connections?: number }[];
        }
      ).items;
    /** dig in a namespace; its exit status is not an error here (9: no answer). */
    const dig = (where: string, ...args: string[]) =>
      spawnSync('ip', ['netns', 'exec', where, 'dig', '+time=2', '+tries=1', ...args], {
        encoding: 'utf8',
      }).stdout;
    const digFromPeer = (...args: string[]) => dig(peer.name, '@100.64.0.1', ...args);

    expect(digFromPeer('echo.boundary.dev')).toMatch(/status: REFUSED/);
    expect(digFromPeer('elsewhere.example')).toMatch(/status: REFUSED/);
    expect(digFromPeer('+tcp', 'echo.boundary.dev')).not.toMatch(/status: NOERROR/);
    await settle();
    expect(sessions()).toEqual([]); // no authorization
    expect(upstreamQueries()).toBe(0); // no upstream query

    // The same names from this machine: answered, a session authorized, forwarded upstream.
    const address = inNs('dig', '+short', 'echo.boundary.dev').trim();
    expect(address).toMatch(/^100\./);
    expect(sessions()).toHaveLength(1);
    dig(ns, 'elsewhere.example');
    await settle();
    const forwarded = upstreamQueries();
    expect(forwarded).toBeGreaterThan(0);

    // A TCP connection from the peer to the alias's proxy address is reset, nothing relayed.
    const fromPeer = JSON.parse(
      peer.run(
        process.execPath,
        '-e',
        `const s = require('net').connect(7777, '${address}', () => s.write('steal'));
        let n = 0; s.on('data', (c) => n += c.length);
        s.on('error', (e) => { console.log(JSON.stringify({ error: e.code, bytes: n })); process.exit(0); });
        s.on('close', () => { console.log(JSON.stringify({ error: null, bytes: n })); process.exit(0); });`,
      ),
    ) as { error: string | null; bytes: number };
    expect(fromPeer).toEqual({ error: 'ECONNRESET', bytes: 0 });
    expect(sessions()).toHaveLength(1);
    expect(sessions()[0]?.connections ?? 0).toBe(0);
    expect(fs.readFileSync(path.join(stateDir, 'dev.log'), 'utf8')).toContain(
      'Refused a connection that does not come from this machine.',
    );

    // A burst of 50 queries from the peer: a few REFUSED answers, the rest dropped.
    const burst = JSON.parse(
      peer.run(
        process.execPath,
        '-e',
        `const s = require('dgram').createSocket('udp4'); let answers = 0, refused = 0;
        s.on('message', (m) => { answers++; if ((m[3] & 15) === 5) refused++; });
        s.bind(() => {
          const labels = 'echo.boundary.dev'.split('.').flatMap((l) => [Buffer.from([l.length]), Buffer.from(l)]);
          const q = Buffer.concat([Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, 0, 1, 0, 1])]);
          for (let i = 0; i < 50; i++) s.send(q, 53, '100.64.0.1');
          setTimeout(() => { console.log(JSON.stringify({ answers, refused })); process.exit(0); }, 1500);
        });`,
      ),
    ) as { answers: number; refused: number };
    expect(burst.answers).toBeGreaterThan(0);
    expect(burst.answers).toBeLessThanOrEqual(8);
    expect(burst.refused).toBe(burst.answers);
    await settle();
    expect(upstreamQueries()).toBe(forwarded);

    const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    expect(await exit).toBe(0);
    upstream.kill('SIGKILL');
  }, 60_000);
});
