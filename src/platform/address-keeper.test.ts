import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeRunner } from '../../test/platform/fake-runner.js';
import { silentLog, tempRoot, V4 } from '../../test/platform/platform-fixtures.js';
import { ManualClock } from '../lib/index.js';
import { createLinuxPlatform } from './linux/linux-platform.js';
import { NET_EVENT, type NetLinkAddon } from './linux/net-link-addon.js';
import { rootFs } from './root-fs.js';
import { prepareSystemProfile } from './system-profile.js';

/** The fake runner answers at once, resolv.conf is read from a real file: a check under way ends. */
async function settle(): Promise<void> {
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The machine as `ip` shows it: the agent's link and which addresses it has now. */
function machine() {
  const m = { link: true, up: true, addresses: new Set<string>() };
  const runner = new FakeRunner()
    .on(/^ip -j -[46] (addr|route) show$/, '[]')
    .on('ip -j addr show', () =>
      JSON.stringify(
        m.link
          ? [
              {
                ifname: 'client-agent',
                addr_info: [...m.addresses].map((local) => ({
                  family: 'inet',
                  local,
                  prefixlen: 32,
                })),
              },
            ]
          : [],
      ),
    )
    .on('ip -j link show dev client-agent', () =>
      m.link
        ? JSON.stringify([{ ifname: 'client-agent', flags: m.up ? ['UP'] : [] }])
        : { fail: { exitCode: 1, stderr: 'Device "client-agent" does not exist.' } },
    )
    .on(/^ip addr add /, (line) => {
      m.addresses.add(line.split(' ')[3]?.split('/')[0] ?? '');
      return '';
    })
    .on('ip link set dev client-agent up', () => {
      m.link = true;
      m.up = true;
      return '';
    });
  return { m, runner };
}

async function setup() {
  const { m, runner } = machine();
  const clock = new ManualClock();
  const events: ((mask: number) => void)[] = [];
  let tuns = 0;
  const addon: NetLinkAddon = {
    tunOpen: () => ++tuns,
    tunClose: () => undefined,
    watchOpen: (callback) => events.push(callback),
    watchClose: () => undefined,
  };
  const root = tempRoot({ '/etc/resolv.conf': 'nameserver 10.0.0.1\n' });
  const platform = createLinuxPlatform({
    runner,
    fs: rootFs({ root }),
    clock,
    log: silentLog,
    netLink: addon,
  });
  const profile = await prepareSystemProfile({
    platform,
    config: { interfaceToUse: null, v4Prefix: V4, v6Prefix: null },
    clock,
    log: silentLog,
  });
  const event = async (mask: number) => {
    for (const e of events) e(mask);
    clock.advance(100);
    await settle();
  };
  return { m, runner, clock, profile, event, root, tuns: () => tuns };
}

describe('AddressKeeper (through the system profile, fake runner)', () => {
  it('puts addresses back after a flush, warning once per cause', async () => {
    const { m, runner, profile, event } = await setup();
    await profile.addAddress('100.64.5.5');
    expect(m.addresses).toEqual(new Set(['100.64.0.1', '100.64.5.5']));
    runner.take();
    m.addresses.clear();
    await event(NET_EVENT.ADDRESS);
    expect(runner.take()).toEqual(
      expect.arrayContaining([
        'ip addr add 100.64.0.1/32 dev client-agent',
        'ip addr add 100.64.5.5/32 dev client-agent',
      ]),
    );
    m.addresses.clear();
    await event(NET_EVENT.ADDRESS);
    expect(m.addresses).toEqual(new Set(['100.64.0.1', '100.64.5.5']));
    expect(profile.warnings()).toHaveLength(1);
    expect(profile.warnings()[0]).toMatch(/removed the agent's addresses from client-agent/);
    await profile.close();
  });

  it('makes the link again when it is deleted, and sets it up when set down', async () => {
    const { m, runner, profile, event, tuns } = await setup();
    m.link = false;
    m.addresses.clear();
    runner.take();
    await event(NET_EVENT.LINK);
    expect(tuns()).toBe(2);
    expect(runner.calls).toContain('ip link set dev client-agent up');
    expect(m.addresses).toEqual(new Set(['100.64.0.1']));
    m.up = false;
    await event(NET_EVENT.LINK);
    expect(m.up).toBe(true);
    expect(profile.warnings().join('\n')).toMatch(/deleted the agent's link client-agent/);
    expect(profile.warnings().join('\n')).toMatch(/set the agent's link client-agent down/);
    await profile.close();
  });

  it('does nothing when nothing is missing', async () => {
    const { runner, profile, event } = await setup();
    runner.take();
    await event(NET_EVENT.ADDRESS | NET_EVENT.ROUTE);
    expect(runner.take().filter((c) => !c.startsWith('ip -j'))).toEqual([]);
    expect(profile.warnings()).toEqual([]);
    await profile.close();
  });

  it('checks on a timer too, and hands on new upstreams', async () => {
    const { m, clock, profile, root } = await setup();
    const seen: string[][] = [];
    profile.onUpstreams((u) => seen.push(u.map((s) => s.address)));
    m.addresses.clear();
    clock.advance(30_000);
    await settle();
    // The full check waited for the one under way; its (0 ms) turn comes with the next tick.
    clock.advance(1);
    await settle();
    expect(m.addresses).toEqual(new Set(['100.64.0.1']));
    expect(seen).toEqual([]);
    // Not taken over (no apply here): the upstreams are what resolv.conf names now.
    fs.writeFileSync(
      path.join(root, 'etc/resolv.conf'),
      'nameserver 10.0.0.9\nnameserver 100.64.0.1\n',
    );
    clock.advance(2_000);
    await settle();
    clock.advance(1);
    await settle();
    expect(seen).toEqual([['10.0.0.9']]);
    await profile.close();
  });
});
