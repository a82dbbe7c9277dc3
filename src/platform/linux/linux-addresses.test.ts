import { describe, expect, it } from 'vitest';
import { rejection } from '../../../test/helpers/rejection.js';
import { FakeRunner } from '../../../test/platform/fake-runner.js';
import { silentLog, tempRoot, V4, V6 } from '../../../test/platform/platform-fixtures.js';
import { ManualClock } from '../../lib/index.js';
import { PlatformError } from '../errors.js';
import type { PlatformState } from '../platform-state.js';
import { rootFs } from '../root-fs.js';
import { prepareSystemProfile } from '../system-profile.js';
import { createLinuxPlatform } from './linux-platform.js';
import type { NetLinkAddon } from './net-link-addon.js';

const ROUTES = JSON.stringify([
  { dst: 'default', gateway: '192.168.1.1', dev: 'wlan0', metric: 600 },
  { dst: 'default', gateway: '10.0.0.1', dev: 'eth0', metric: 100 },
]);
const LINKS = JSON.stringify([
  { ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }] },
  { ifname: 'eth0', addr_info: [{ family: 'inet', local: '10.0.0.5', prefixlen: 24 }] },
]);

/** The addon's tun as the kernel would keep it: open handles by name. */
function fakeNetLink() {
  const open = new Set<string>();
  const addon: NetLinkAddon = {
    tunOpen: (name) => {
      if (open.has(name)) throw new Error('ioctl TUNSETIFF: Device or resource busy');
      open.add(name);
      return name;
    },
    tunClose: (handle) => open.delete(handle as string),
    watchOpen: () => ({}),
    watchClose: () => undefined,
  };
  return { addon, open };
}

function setup(netLink?: NetLinkAddon) {
  const runner = new FakeRunner()
    .on('ip -j route show default', ROUTES)
    .on('ip -j link show', LINKS)
    .on(/^ip -j -[46] addr show$/, LINKS)
    .on('ip -j -4 route show', JSON.stringify([{ dst: '10.0.0.0/24', dev: 'eth0' }]));
  const states: { state: PlatformState; callsSoFar: number }[] = [];
  const platform = createLinuxPlatform({
    runner,
    fs: rootFs({ root: tempRoot({ '/etc/resolv.conf': 'nameserver 10.0.0.1\n' }) }),
    clock: new ManualClock(),
    log: silentLog,
    netLink,
    onChange: (state) => {
      states.push({ state, callsSoFar: runner.calls.length });
    },
  });
  return { platform, runner, states };
}

describe('Linux interface addresses', () => {
  it('picks the default route with the lowest metric, or the configured interface', async () => {
    const { platform } = setup();
    expect(await platform.addresses.primaryInterface(null)).toBe('eth0');
    expect(await platform.addresses.primaryInterface('lo')).toBe('lo');
    const err = await rejection(platform.addresses.primaryInterface('wg9'), PlatformError);
    expect(err.message).toContain('"wg9"');
  });

  it('says to set interface_to_use when there is no default route', async () => {
    const { platform, runner } = setup();
    runner.on('ip -j route show default', '[]');
    const err = await rejection(platform.addresses.primaryInterface(null), PlatformError);
    expect(err.code).toBe('platform.no_default_route');
    expect(err.hint).toContain('interface_to_use');
  });

  it('names every overlapping address and route (Tailscale, a CGNAT ISP)', async () => {
    const { platform, runner } = setup();
    runner
      .on(
        'ip -j -4 addr show',
        JSON.stringify([
          {
            ifname: 'tailscale0',
            addr_info: [{ family: 'inet', local: '100.101.102.103', prefixlen: 32 }],
          },
        ]),
      )
      .on(
        'ip -j -4 route show',
        JSON.stringify([
          { dst: '100.64.0.0/10', dev: 'tailscale0' },
          { dst: 'default', dev: 'eth0' },
        ]),
      );
    const err = await rejection(platform.addresses.checkPrefix(V4), PlatformError);
    expect(err.code).toBe('platform.prefix_conflict');
    expect(err.message).toBe(
      'v4_prefix 100.64.0.0/10 overlaps what is already on this machine: address 100.101.102.103/32 on tailscale0; route 100.64.0.0/10 via tailscale0',
    );
    await platform.addresses.checkPrefix(V6);
  });

  it('records each address before adding it; IPv6 without duplicate detection', async () => {
    const { platform, runner, states } = setup();
    await platform.addresses.add('eth0', '100.64.0.1');
    await platform.addresses.add('eth0', 'fd62:6f75:6e64::53');
    expect(runner.take()).toEqual([
      'ip addr add 100.64.0.1/32 dev eth0',
      'ip addr add fd62:6f75:6e64::53/128 dev eth0 nodad',
    ]);
    expect(states.map((s) => [s.state.addresses.length, s.callsSoFar])).toEqual([
      [1, 0],
      [2, 1],
    ]);
    await platform.addresses.removeAll();
    expect(runner.take()).toEqual([
      'ip addr del fd62:6f75:6e64::53/128 dev eth0',
      'ip addr del 100.64.0.1/32 dev eth0',
    ]);
    expect(platform.state().addresses).toEqual([]);
  });

  it('forgets an address whose add failed', async () => {
    const { platform, runner } = setup();
    runner.fail(/^ip addr add/, 'RTNETLINK answers: Operation not permitted', 2);
    const err = await rejection(platform.addresses.add('eth0', '100.64.0.1'), PlatformError);
    expect(err.exitCode).toBe(2);
    expect(platform.state().addresses).toEqual([]);
  });
});

describe('prepareSystemProfile (Linux, fake runner)', () => {
  const config = { interfaceToUse: null, v4Prefix: V4, v6Prefix: V6 };
  const options = { config, clock: new ManualClock(), log: silentLog };

  it('makes its own link, adds the DNS addresses there; applies, restores, and close deletes the link', async () => {
    const tun = fakeNetLink();
    const { platform, runner } = setup(tun.addon);
    const profile = await prepareSystemProfile({ platform, ...options });
    expect(profile).toMatchObject({
      name: 'system',
      interface: 'client-agent',
      dnsAddresses: ['100.64.0.1', 'fd62:6f75:6e64::53'],
      dnsPort: 53,
      systemUpstreams: [{ address: '10.0.0.1', port: 53, family: 4 }],
    });
    expect(profile.warnings()).toEqual([]);
    expect(tun.open).toEqual(new Set(['client-agent']));
    expect(runner.take()).toEqual([
      'ip -j -4 addr show',
      'ip -j -4 route show',
      'ip -j -6 addr show',
      'ip -j -6 route show',
      'ip link set dev client-agent up',
      'ip addr add 100.64.0.1/32 dev client-agent',
      'ip addr add fd62:6f75:6e64::53/128 dev client-agent nodad',
    ]);
    expect(platform.state().link).toBe('client-agent');
    await profile.addAddress('100.64.3.4');
    await profile.resolver.apply();
    await profile.close();
    expect(runner.take()).toEqual([
      'ip addr add 100.64.3.4/32 dev client-agent',
      'ip addr del 100.64.3.4/32 dev client-agent',
      'ip addr del fd62:6f75:6e64::53/128 dev client-agent',
      'ip addr del 100.64.0.1/32 dev client-agent',
      'ip link del dev client-agent',
    ]);
    expect(tun.open.size).toBe(0);
    expect(platform.state()).toEqual({ version: 1, addresses: [], resolver: null, link: null });
  });

  it('stops cleanly when the link and its addresses are already gone', async () => {
    const tun = fakeNetLink();
    const { platform, runner } = setup(tun.addon);
    const profile = await prepareSystemProfile({ platform, ...options });
    runner
      .fail(/^ip addr del/, 'Error: ipv4: Address not found.', 2)
      .fail(/^ip link del/, 'Cannot find device "client-agent"', 1);
    await profile.close();
    expect(platform.state()).toEqual({ version: 1, addresses: [], resolver: null, link: null });
  });

  it('falls back to loopback and says so where no tun can be made', async () => {
    const tun = fakeNetLink();
    tun.addon.tunOpen = () => {
      throw new Error('open /dev/net/tun: No such file or directory');
    };
    const { platform, runner } = setup(tun.addon);
    const profile = await prepareSystemProfile({ platform, ...options });
    expect(profile.interface).toBe('lo');
    expect(profile.warnings()[0]).toMatch(/loopback \(lo\).*\/dev\/net\/tun/);
    expect(runner.calls).toContain('ip addr add 100.64.0.1/32 dev lo');
    expect(platform.state().link).toBeNull();
    await profile.close();
  });

  it('uses interface_to_use instead of its own link', async () => {
    const tun = fakeNetLink();
    const { platform, runner } = setup(tun.addon);
    const profile = await prepareSystemProfile({
      platform,
      ...options,
      config: { ...config, interfaceToUse: 'eth0' },
    });
    expect(profile.interface).toBe('eth0');
    expect(tun.open.size).toBe(0);
    expect(runner.calls).toContain('ip addr add 100.64.0.1/32 dev eth0');
    await profile.close();
  });

  it('removes the first DNS address and the link when the second address cannot be added', async () => {
    const tun = fakeNetLink();
    const { platform, runner } = setup(tun.addon);
    runner.fail(
      'ip addr add fd62:6f75:6e64::53/128 dev client-agent nodad',
      'RTNETLINK answers: Permission denied',
      2,
    );
    await rejection(prepareSystemProfile({ platform, ...options }), PlatformError);
    expect(runner.calls.slice(-3)).toEqual([
      'ip addr add fd62:6f75:6e64::53/128 dev client-agent nodad',
      'ip addr del 100.64.0.1/32 dev client-agent',
      'ip link del dev client-agent',
    ]);
    expect(platform.state().addresses).toEqual([]);
    expect(tun.open.size).toBe(0);
  });
});
