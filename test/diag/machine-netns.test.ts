/**
 * `client-agent diag` (the machine checks) for real, inside a network namespace this test
 * creates (root only): the root daemon runs there with dnsmasq as the previous resolver; diag
 * passes, then sees a HIJACKED probe (a hosts entry), a NOT REGISTERED one (paused: the resolver
 * given back), and after a kill -9 a resolver left pointing at a dead agent. The host's
 * interfaces, resolv.conf and hosts file are never touched.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MACHINE_STEPS, type DiagReport } from '../../src/diag/index.js';
import { which } from '../helpers/dns-dnsmasq.js';
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
const UPSTREAM = '127.0.0.2';
const ORIGINAL = `nameserver ${UPSTREAM}\noptions timeout:2 attempts:1\n`;

const reason =
  netnsSkipReason() ?? (which('dnsmasq') === undefined ? 'dnsmasq is not installed' : undefined);
if (reason !== undefined) console.log(`skipping the diag namespace test: ${reason}`);

describe.skipIf(reason !== undefined)('client-agent diag in a network namespace', () => {
  let namespace: TestNamespace;
  let dir = '';
  let configFile = '';
  const children: ChildProcess[] = [];

  function spawnInNs(args: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', namespace.name, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    return child;
  }

  /** Runs `client-agent diag --json` in the namespace: its exit status and report. */
  function diag(): { code: number | null; report: DiagReport } {
    const r = spawnSync(
      'ip',
      [
        'netns',
        'exec',
        namespace.name,
        process.execPath,
        BIN,
        'diag',
        '--json',
        '--config',
        configFile,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    return { code: r.status, report: JSON.parse(r.stdout) as DiagReport };
  }

  const status = (report: DiagReport, id: string) => report.steps.find((s) => s.id === id);

  const startDaemon = () =>
    startInNamespace(
      namespace.name,
      children,
      [BIN, 'daemon', '--config', configFile],
      'client-agent daemon running',
    );

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-diag-'));
    configFile = writeDaemonConfig(dir);
    namespace = createNamespace('ca-g', ORIGINAL);
    // The resolver the machine had before the agent: dnsmasq, answering *.test itself (NXDOMAIN).
    const dnsmasq = spawnInNs([
      'dnsmasq',
      '--keep-in-foreground',
      '--no-resolv',
      '--no-hosts',
      `--listen-address=${UPSTREAM}`,
      '--bind-interfaces',
      '--port=53',
      '--local=/test/',
      '--log-facility=-',
    ]);
    const deadline = Date.now() + 10_000;
    while (!namespace.run('ss', '-H', '-lun', 'sport', '=', ':53').includes(UPSTREAM)) {
      if (Date.now() > deadline || dnsmasq.exitCode !== null)
        throw new Error('dnsmasq did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  afterAll(() => {
    tearDown(children, namespace, dir);
  });

  it('passes on a healthy machine; HIJACKED with a hosts entry; NOT REGISTERED while paused', async () => {
    const { child: daemon } = await startDaemon();
    const healthy = diag();
    expect(healthy.report.steps.map((s) => `${s.id}:${s.status}`)).toEqual(
      MACHINE_STEPS.map((s) => `${s.id}:pass`),
    );
    expect(healthy.code).toBe(0);
    expect(status(healthy.report, 'dns-addresses')?.seen).toBe(
      '100.64.0.1 on client-agent, fd62:6f75:6e64::53 on client-agent',
    );
    expect(status(healthy.report, 'resolver')?.seen).toBe(
      'resolv-conf: nameservers 100.64.0.1, fd62:6f75:6e64::53',
    );
    expect(status(healthy.report, 'probe-os')?.seen).toMatch(/^OK: probe\.client-agent\.test → /);
    expect(status(healthy.report, 'port-53')?.seen).toMatch(/dnsmasq \(pid \d+\) on 127\.0\.0\.2/);
    expect(status(healthy.report, 'upstreams')?.seen).toBe('127.0.0.2:53 answers');

    // A hosts entry answers the probe before the agent: HIJACKED.
    const hosts = path.join('/etc/netns', namespace.name, 'hosts');
    fs.writeFileSync(hosts, '127.0.0.1 localhost\n10.9.9.9 probe.client-agent.test\n');
    try {
      const hijacked = diag();
      expect(hijacked.code).toBe(1);
      expect(status(hijacked.report, 'probe-os')).toMatchObject({ status: 'fail' });
      expect(status(hijacked.report, 'probe-os')?.seen).toMatch(
        /^HIJACKED: probe\.client-agent\.test → 10\.9\.9\.9/,
      );
      expect(status(hijacked.report, 'probe-os')?.fix).toContain('/etc/hosts');
    } finally {
      fs.rmSync(hosts, { force: true });
    }

    // Paused: the resolver is given back, so the OS resolver no longer asks the agent.
    execFileSync('ip', ['netns', 'exec', namespace.name, process.execPath, BIN, 'pause']);
    const paused = diag();
    expect(paused.code).toBe(1);
    expect(status(paused.report, 'agent')).toMatchObject({ status: 'fail' });
    expect(status(paused.report, 'resolver')?.fix).toContain('client-agent resume');
    expect(status(paused.report, 'probe-direct')?.status).toBe('pass');
    expect(status(paused.report, 'probe-os')?.seen).toMatch(/^NOT REGISTERED: /);
    execFileSync('ip', ['netns', 'exec', namespace.name, process.execPath, BIN, 'resume']);

    // Killed with -9: the resolver still points at the dead agent, and diag says how to undo it.
    const exit = new Promise((resolve) => daemon.once('exit', resolve));
    daemon.kill('SIGKILL');
    await exit;
    const dead = diag();
    expect(status(dead.report, 'agent')).toMatchObject({ status: 'fail' });
    expect(status(dead.report, 'dns-addresses')?.status).toBe('skip');
    expect(status(dead.report, 'resolver')).toMatchObject({ status: 'fail' });
    expect(status(dead.report, 'resolver')?.fix).toContain('sudo client-agent daemon --cleanup');
    execFileSync('ip', [
      'netns',
      'exec',
      namespace.name,
      process.execPath,
      BIN,
      'daemon',
      '--config',
      configFile,
      '--cleanup',
    ]);
    expect(fs.readFileSync(namespace.resolvConf, 'utf8')).toBe(ORIGINAL);
    const clean = diag();
    expect(status(clean.report, 'resolver')?.status).toBe('pass');
    expect(status(clean.report, 'upstreams')?.status).toBe('pass');
  }, 120_000);
});
