/**
 * The laptop's network changing under the running agent (`dev --system`, root, namespaces this
 * test creates): a "laptop" namespace whose eth0 has a default route via a gateway namespace that
 * also runs the "corporate" resolver and the "new network's" resolver (dnsmasq). After each
 * change, name lookups through the system resolver (glibc getent, dig without @) answer an alias
 * and a corporate name within 15 s, and an alias connection relays bytes; at the end SIGTERM
 * leaves the namespace as it was, byte for byte.
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
  tearDown,
  type PeerNamespace,
  type TestNamespace,
} from '../helpers/netns.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'dist/cli/bin.js');
const GATEWAY = '192.0.2.20';
const CORPORATE = '192.0.2.53';
const NEW_RESOLVER = '192.0.2.54';
const ORIGINAL = `search corp.test\nnameserver ${CORPORATE}\n`;

const reason =
  netnsSkipReason() ??
  (spawnSync('dnsmasq', ['--version']).status === 0 ? undefined : 'dnsmasq is not installed');
if (reason !== undefined) console.log(`skipping the network-changes test: ${reason}`);

describe.skipIf(reason !== undefined)('the agent while the laptop network changes', () => {
  let laptop: TestNamespace;
  let gateway: PeerNamespace;
  let dir = '';
  const children: ChildProcess[] = [];
  const inNs = (...args: string[]): string => laptop.run(...args);
  const tryNs = (...args: string[]) =>
    spawnSync('ip', ['netns', 'exec', laptop.name, ...args], { encoding: 'utf8' });

  const machine = () => ({
    resolv: fs.readFileSync(laptop.resolvConf, 'utf8'),
    addr: inNs('ip', '-j', 'addr'),
    link: inNs('ip', '-j', 'link'),
  });

  /** Alias and corporate name through the system resolver, and bytes through the alias, within 15 s. */
  async function resolvesWithin15s(extraName?: string): Promise<void> {
    const deadline = Date.now() + 15_000;
    let last = '';
    for (;;) {
      const dig = tryNs('dig', '+short', '+time=1', '+tries=1', 'echo.boundary.dev').stdout.trim();
      const corp = tryNs('getent', 'hosts', 'intranet.corp.test').stdout;
      const corpDig = tryNs('dig', '+short', '+time=1', '+tries=1', 'intranet.corp.test').stdout;
      const alias = tryNs('getent', 'ahosts', 'echo.boundary.dev').stdout;
      const extra =
        extraName === undefined ? '10.9.9.9' : tryNs('getent', 'hosts', extraName).stdout;
      const echoed = tryNs(
        process.execPath,
        '-e',
        "const s = require('net').connect(7777, 'echo.boundary.dev', () => s.write('relayed')); s.on('data', (d) => { process.stdout.write(d); s.destroy(); }); s.on('error', () => process.exit(1)); setTimeout(() => process.exit(1), 3000);",
      ).stdout;
      last = JSON.stringify({ dig, corp, corpDig, alias, extra, echoed });
      if (
        dig.startsWith('100.') &&
        alias.includes(dig) &&
        corp.includes('10.1.2.3') &&
        corpDig.includes('10.1.2.3') &&
        extra.includes('10.9.9.9') &&
        echoed === 'relayed'
      ) {
        return;
      }
      if (Date.now() > deadline) throw new Error(`not resolving within 15 s: ${last}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cahA-net-'));
    laptop = createNamespace('cahA-laptop', ORIGINAL);
    // The gateway namespace holds the other end of eth0 (ca1) and both resolvers.
    gateway = laptop.addPeer();
    gateway.run('ip', 'addr', 'add', `${CORPORATE}/24`, 'dev', 'ca1');
    gateway.run('ip', 'addr', 'add', `${NEW_RESOLVER}/24`, 'dev', 'ca1');
    inNs('ip', 'route', 'replace', 'default', 'via', GATEWAY, 'dev', 'ca0');
    for (const [address, name] of [
      [CORPORATE, 'corp'],
      [NEW_RESOLVER, 'new'],
    ] as const) {
      const records =
        name === 'corp'
          ? ['--address=/intranet.corp.test/10.1.2.3']
          : ['--address=/intranet.corp.test/10.1.2.3', '--address=/only.new.test/10.9.9.9'];
      const child = spawn(
        'ip',
        [
          'netns',
          'exec',
          gateway.name,
          'dnsmasq',
          '--keep-in-foreground',
          '--no-resolv',
          '--no-hosts',
          // Rebinds when its address comes back on a new interface.
          '--bind-dynamic',
          `--listen-address=${address}`,
          `--pid-file=${dir}/${name}.pid`,
          ...records,
        ],
        { stdio: 'ignore' },
      );
      children.push(child);
    }
  });

  afterAll(() => {
    tearDown(children, laptop, dir);
  });

  it('keeps resolving through a link flap, an eth0 re-lease, a moved default route, a new eth0, its own link flushed and deleted, and a new network resolver; SIGTERM gives everything back', async () => {
    const stateDir = path.join(dir, 'dev');
    const { child } = await startDevSystem(laptop.name, children, BIN, stateDir);
    expect(inNs('ip', '-o', 'addr', 'show', 'dev', 'client-agent')).toContain('100.64.0.1/32');
    await resolvesWithin15s();

    // Link flap.
    inNs('ip', 'link', 'set', 'ca0', 'down');
    inNs('ip', 'link', 'set', 'ca0', 'up');
    inNs('ip', 'route', 'replace', 'default', 'via', GATEWAY, 'dev', 'ca0');
    await resolvesWithin15s();

    // DHCP re-lease: the IPv4 addresses of eth0 flushed, then given again.
    inNs('ip', '-4', 'addr', 'flush', 'dev', 'ca0');
    inNs('ip', 'addr', 'add', '192.0.2.10/24', 'dev', 'ca0');
    inNs('ip', 'route', 'replace', 'default', 'via', GATEWAY, 'dev', 'ca0');
    await resolvesWithin15s();

    // The default route moves to another interface (a second link to the gateway).
    inNs('ip', 'link', 'add', 'ca2', 'type', 'veth', 'peer', 'name', 'ca3', 'netns', gateway.name);
    gateway.run('ip', 'addr', 'add', '198.51.100.1/24', 'dev', 'ca3');
    gateway.run('ip', 'link', 'set', 'ca3', 'up');
    inNs('ip', 'addr', 'add', '198.51.100.10/24', 'dev', 'ca2');
    inNs('ip', 'link', 'set', 'ca2', 'up');
    inNs('ip', 'route', 'replace', 'default', 'via', '198.51.100.1', 'dev', 'ca2');
    await resolvesWithin15s();

    // The primary interface removed (with the gateway's end and its addresses), a new one added.
    inNs('ip', 'link', 'del', 'ca0');
    inNs('ip', 'link', 'del', 'ca2');
    inNs('ip', 'link', 'add', 'ca0', 'type', 'veth', 'peer', 'name', 'ca1', 'netns', gateway.name);
    for (const a of [GATEWAY, CORPORATE, NEW_RESOLVER]) {
      gateway.run('ip', 'addr', 'add', `${a}/24`, 'dev', 'ca1');
    }
    gateway.run('ip', 'link', 'set', 'ca1', 'up');
    inNs('ip', 'addr', 'add', '192.0.2.10/24', 'dev', 'ca0');
    inNs('ip', 'link', 'set', 'ca0', 'up');
    inNs('ip', 'route', 'replace', 'default', 'via', GATEWAY, 'dev', 'ca0');
    await resolvesWithin15s();

    // Someone flushes the agent's own link, then deletes it: both put back.
    inNs('ip', 'addr', 'flush', 'dev', 'client-agent');
    await resolvesWithin15s();
    inNs('ip', 'link', 'del', 'client-agent');
    await resolvesWithin15s();

    // A DHCP client writes the new network's resolver: the name only it knows resolves.
    fs.writeFileSync(laptop.resolvConf, `# dhcp\nnameserver ${NEW_RESOLVER}\n`);
    await resolvesWithin15s('only.new.test');
    const status = JSON.parse(inNs(process.execPath, BIN, 'status', '-format=json')) as {
      item: { warnings?: string[] };
    };
    const warnings = (status.item.warnings ?? []).join('\n');
    expect(warnings).toMatch(/removed the agent's addresses from client-agent/);
    expect(warnings).toMatch(/deleted the agent's link client-agent/);

    const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exit).not.toBeNull();
    const after = machine();
    // What the DHCP client wrote is what stop gives back.
    expect(after.resolv).toBe(`# dhcp\nnameserver ${NEW_RESOLVER}\n`);
    expect(after.addr).not.toMatch(/100\.64\.|fd62:/);
    expect(after.link).not.toContain('client-agent');
    expect(fs.readdirSync(stateDir).filter((f) => f.endsWith('.json'))).toEqual([]);
  }, 110_000);

  it('SIGTERM after a re-add leaves the namespace byte for byte as before', async () => {
    // IPv6 duplicate address detection on eth0 ends ("tentative" goes) before the snapshot.
    for (let i = 0; i < 50 && inNs('ip', '-6', 'addr', 'show', 'tentative') !== ''; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const before = machine();

    const stateDir = path.join(dir, 'dev-again');
    const { child } = await startDevSystem(laptop.name, children, BIN, stateDir);
    inNs('ip', 'addr', 'flush', 'dev', 'client-agent');
    await resolvesWithin15s('only.new.test');
    const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exit;
    const after = machine();
    expect(after.resolv).toBe(before.resolv);
    expect(after.addr).toBe(before.addr);
    expect(after.link).toBe(before.link);
    expect(fs.readdirSync(stateDir).filter((f) => f.endsWith('.json'))).toEqual([]);
  }, 60_000);
});
