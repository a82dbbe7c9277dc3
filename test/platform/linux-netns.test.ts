/**
 * The Linux platform for real, inside a network namespace this test creates (root only): a dummy
 * interface with a default route, the namespace's own resolv.conf (/etc/netns/NS/resolv.conf,
 * which `ip netns exec` mounts over /etc/resolv.conf). The host's interfaces and resolv.conf are
 * never touched; the namespace is deleted afterwards, failures included.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createNamespace, netnsSkipReason, type TestNamespace } from '../helpers/netns.js';
import { systemClock } from '../../src/lib/index.js';
import {
  createPlatform,
  EMPTY,
  ExecFileRunner,
  isPlatformState,
  PlatformError,
  prefixedRunner,
  prepareSystemProfile,
  rootFs,
  type Platform,
  type PlatformState,
} from '../../src/platform/index.js';
import { rejection } from '../helpers/rejection.js';

const V4 = { cidr: '100.64.0.0/10', network: '100.64.0.0', length: 10 };
const V6 = { cidr: 'fd62:6f75:6e64::/64', network: 'fd62:6f75:6e64::', length: 64 };
const ORIGINAL =
  '# written by the test\nsearch example.test\nnameserver 192.0.2.53\noptions ndots:2 timeout:1';

const reason = netnsSkipReason();
if (reason !== undefined) console.log(`skipping the Linux namespace tests: ${reason}`);

describe.skipIf(reason !== undefined)('Linux platform in a network namespace', () => {
  let namespace: TestNamespace;
  let ns = '';
  let resolvConf = '';
  const children: ChildProcess[] = [];
  let root = '';
  const inNs = (...args: string[]): string => namespace.run(...args);
  const addresses = (): string => inNs('ip', '-o', 'addr', 'show', 'dev', 'ca0');
  const nsResolvConf = (): string => inNs('cat', '/etc/resolv.conf');
  const newPlatform = (states: PlatformState[] = []): Platform =>
    createPlatform({
      platform: 'linux',
      runner: prefixedRunner(new ExecFileRunner(), ['ip', 'netns', 'exec', ns]),
      fs: rootFs({ root, redirects: { '/etc/resolv.conf': resolvConf } }),
      log: pino({ level: 'silent' }),
      clock: systemClock,
      watchIntervalMs: 50,
      onChange: (s) => {
        states.push(s);
      },
    });

  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-platform-'));
    namespace = createNamespace('ca-test', ORIGINAL);
    ns = namespace.name;
    resolvConf = namespace.resolvConf;
  });

  afterAll(() => {
    for (const child of children) {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) continue;
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    try {
      namespace.destroy();
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('finds the primary interface from the default route', async () => {
    expect(await newPlatform().addresses.primaryInterface(null)).toBe('ca0');
    const err = await rejection(newPlatform().addresses.primaryInterface('nope0'), PlatformError);
    expect(err.code).toBe('platform.no_interface');
  });

  it('adds its addresses, takes resolv.conf over, gives it back byte for byte and removes them', async () => {
    const states: PlatformState[] = [];
    const platform = newPlatform(states);
    const profile = await prepareSystemProfile({
      platform,
      config: { interfaceToUse: 'ca0', v4Prefix: V4, v6Prefix: V6 },
      clock: systemClock,
      log: pino({ level: 'silent' }),
    });
    expect(profile.dnsAddresses).toEqual(['100.64.0.1', 'fd62:6f75:6e64::53']);
    expect(profile.systemUpstreams).toEqual([{ address: '192.0.2.53', port: 53, family: 4 }]);
    await profile.addAddress('100.64.9.9');
    expect(addresses()).toContain('100.64.0.1/32');
    expect(addresses()).toContain('fd62:6f75:6e64::53/128');
    expect(addresses()).toContain('100.64.9.9/32');

    await profile.resolver.apply();
    const taken = nsResolvConf();
    expect(taken.split('\n')[0]).toMatch(/^# client-agent: managed/);
    expect(taken.split('\n').filter((l) => l.startsWith('nameserver'))).toEqual([
      'nameserver 100.64.0.1',
      'nameserver fd62:6f75:6e64::53',
    ]);
    expect(taken).toContain('search example.test');
    expect(taken).toContain('options ndots:2 timeout:1');
    expect(platform.state().resolver).toMatchObject({ kind: 'resolv-conf', original: ORIGINAL });
    // The upstreams stay the ones from before while taken over.
    expect(await platform.resolver.upstreams(profile.dnsAddresses)).toEqual(
      profile.systemUpstreams,
    );

    await profile.resolver.restore();
    expect(nsResolvConf()).toBe(ORIGINAL);
    expect(fs.readFileSync(resolvConf, 'utf8')).toBe(ORIGINAL);

    await profile.close();
    expect(addresses()).not.toContain('100.64.');
    expect(addresses()).not.toContain('fd62:');
    expect(platform.state()).toEqual({ version: 1, addresses: [], resolver: null });
    expect(states.length).toBeGreaterThan(4);
  });

  it('takes resolv.conf back when another program overwrites it, and restores what that program wrote', async () => {
    const platform = newPlatform();
    await platform.resolver.apply({ interface: 'ca0', servers: ['100.64.0.1'] });
    const dhcp = 'nameserver 192.0.2.77\n';
    // As a DHCP client would: in place (the file is a bind mount inside the namespace).
    inNs('sh', '-c', `printf '${dhcp.replace('\n', '\\n')}' > /etc/resolv.conf`);
    await vi.waitFor(() => {
      expect(nsResolvConf()).toMatch(/^# client-agent: managed/);
    });
    expect(platform.resolver.warnings()[0]).toMatch(/another program rewrote/);
    expect(await platform.resolver.upstreams(['100.64.0.1'])).toEqual([
      { address: '192.0.2.77', port: 53, family: 4 },
    ]);
    await platform.resolver.apply(EMPTY);
    expect(nsResolvConf()).toBe(dhcp);
    fs.writeFileSync(resolvConf, ORIGINAL);
  });

  it('recovers from a run killed with SIGKILL: resolver restored, addresses removed', async () => {
    const stateFile = path.join(root, 'state.json');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/platform/fixtures/take-over-child.ts', ns, root, stateFile],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) resolve();
      });
      child.on('exit', (code) => {
        reject(new Error(`the child exited early (${String(code)})`));
      });
    });
    if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    expect(nsResolvConf()).toMatch(/^# client-agent: managed/);
    expect(addresses()).toContain('100.64.7.7/32');

    const saved: unknown = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    expect(isPlatformState(saved)).toBe(true);
    const report = await newPlatform().recover(saved as PlatformState);
    expect(report.failed).toEqual([]);
    expect(report.remaining).toEqual({ version: 1, addresses: [], resolver: null });
    expect(nsResolvConf()).toBe(ORIGINAL);
    expect(addresses()).not.toContain('100.64.');
    expect(addresses()).not.toContain('fd62:');
  });

  it('sweeps a take-over left in resolv.conf without a state', async () => {
    const platform = newPlatform();
    await platform.resolver.apply({ interface: 'ca0', servers: ['100.64.0.1'] });
    platform.resolver.close();
    const report = await newPlatform().recover(undefined);
    expect(report.undone).toEqual([expect.stringMatching(/without a state/)]);
    expect(nsResolvConf()).toBe(ORIGINAL);
  });

  it('refuses a v4_prefix that overlaps an address already on the machine, naming it', async () => {
    inNs('ip', 'addr', 'add', '100.64.5.5/10', 'dev', 'ca0');
    try {
      const err = await rejection(newPlatform().addresses.checkPrefix(V4), PlatformError);
      expect(err.code).toBe('platform.prefix_conflict');
      expect(err.message).toContain('address 100.64.5.5/10 on ca0');
      expect(err.message).toContain('route 100.64.0.0/10 via ca0');
      expect(err.hint).toMatch(/v4_prefix/);
      await newPlatform().addresses.checkPrefix({
        cidr: '198.18.0.0/16',
        network: '198.18.0.0',
        length: 16,
      });
    } finally {
      inNs('ip', 'addr', 'del', '100.64.5.5/10', 'dev', 'ca0');
    }
  });

  it('names the process holding port 53', async () => {
    const useDnsmasq = fs.existsSync('/usr/sbin/dnsmasq');
    const args = useDnsmasq
      ? [
          'dnsmasq',
          '--keep-in-foreground',
          '--port=53',
          '--listen-address=192.0.2.10',
          '--bind-interfaces',
          '--no-resolv',
          '--no-hosts',
          '--conf-file=/dev/null',
          '--pid-file',
          '--user=root',
        ]
      : [
          process.execPath,
          '-e',
          "require('node:dgram').createSocket('udp4').bind(53, '0.0.0.0', () => console.log('ready'))",
        ];
    const holder = spawn('ip', ['netns', 'exec', ns, ...args], { stdio: 'ignore' });
    children.push(holder);
    const ports = newPlatform().ports;
    const name = useDnsmasq ? 'dnsmasq' : 'node';
    await vi.waitFor(async () => {
      expect(await ports.describePortOwner('192.0.2.10', 53)).toBe(
        `${name} (pid ${String(holder.pid)})`,
      );
    });
    expect(await ports.owners('udp', 53)).toContainEqual({ pid: holder.pid, command: name });
    expect(await ports.describePortOwner('100.64.0.1', 53)).toBe(
      useDnsmasq ? undefined : `node (pid ${String(holder.pid)})`,
    );
    if (holder.pid !== undefined) process.kill(holder.pid, 'SIGTERM');
  });
});
