import { describe, expect, it } from 'vitest';
import { rejection } from '../../../test/helpers/rejection.js';
import { FakeRunner } from '../../../test/platform/fake-runner.js';
import { silentLog, tempRoot, V4, V6 } from '../../../test/platform/platform-fixtures.js';
import { ManualClock } from '../../lib/index.js';
import { PlatformError } from '../errors.js';
import { EMPTY } from '../platform.js';
import type { PlatformState } from '../platform-state.js';
import { rootFs } from '../root-fs.js';
import { prepareSystemProfile } from '../system-profile.js';
import { createDarwinPlatform } from './darwin-platform.js';
import { DarwinPeerCredentials } from './darwin-peer-credentials.js';
import { parseLsof } from './darwin-port-owners.js';
import { parseNetstatRoutes } from './darwin-addresses.js';
import { parseScutilDns } from './networksetup-backend.js';

const ORDER = `An asterisk (*) denotes that a network service is disabled.
(1) USB 10/100/1000 LAN
(Hardware Port: USB 10/100/1000 LAN, Device: en7)

(2) Wi-Fi
(Hardware Port: Wi-Fi, Device: en0)

(*) Thunderbolt Bridge
(Hardware Port: Thunderbolt Bridge, Device: bridge0)
`;
const SCUTIL = `DNS configuration

resolver #1
  search domain[0] : lan
  nameserver[0] : 192.168.1.1
  nameserver[1] : fe80::1%en0
  if_index : 6 (en0)
  reach    : 0x00020002 (Reachable,Directly Reachable Address)

resolver #2
  domain   : local
  options  : mdns
  order    : 300000

DNS configuration (for scoped queries)

resolver #1
  nameserver[0] : 10.99.0.1
`;
const ROUTE = `   route to: default
destination: default
       mask: default
    gateway: 192.168.1.1
  interface: en0
      flags: <UP,GATEWAY,DONE,STATIC,PRCLONING>
`;

function setup() {
  const runner = new FakeRunner()
    .on('route -n get default', ROUTE)
    .on('networksetup -listnetworkserviceorder', ORDER)
    .on('networksetup -getdnsservers Wi-Fi', "There aren't any DNS Servers set on Wi-Fi.\n")
    .on('scutil --dns', SCUTIL)
    .on('ifconfig -l', 'lo0 gif0 stf0 en0 en7 utun3\n')
    .on(
      'ifconfig',
      'en0: flags=8863<UP> mtu 1500\n\tinet 192.168.1.20 netmask 0xffffff00 broadcast 192.168.1.255\n\tinet6 fe80::1%en0 prefixlen 64 scopeid 0x6\n',
    )
    .on(
      /^netstat -rn -f inet6?$/,
      'Routing tables\n\nInternet:\nDestination        Gateway            Flags               Netif Expire\ndefault            192.168.1.1        UGScg                 en0\n127                127.0.0.1          UCS                   lo0\n192.168.1          link#6             UCS                   en0      !\n',
    );
  const states: PlatformState[] = [];
  const platform = createDarwinPlatform({
    runner,
    fs: rootFs({ root: tempRoot() }),
    log: silentLog,
    peers: new DarwinPeerCredentials({ runner }),
    onChange: (s) => {
      states.push(s);
    },
  });
  return { platform, runner, states };
}

const CONFIG = { interface: 'en0', servers: ['100.64.0.1', 'fd62:6f75:6e64::53'] };
const FLUSH = ['dscacheutil -flushcache', 'killall -HUP mDNSResponder'];

describe('macOS addresses', () => {
  it('takes the default route interface, refusing a VPN tunnel unless interface_to_use is set', async () => {
    const { platform, runner } = setup();
    expect(await platform.addresses.primaryInterface(null)).toBe('en0');
    runner.on('route -n get default', ROUTE.replace('interface: en0', 'interface: utun3'));
    const err = await rejection(platform.addresses.primaryInterface(null), PlatformError);
    expect(err.code).toBe('platform.tunnel_interface');
    expect(err.hint).toContain('interface_to_use');
    expect(await platform.addresses.primaryInterface('en7')).toBe('en7');
    await rejection(platform.addresses.primaryInterface('en9'), PlatformError);
  });

  it('adds and removes host aliases with ifconfig', async () => {
    const { platform, runner } = setup();
    const profile = await prepareSystemProfile({
      platform,
      config: { interfaceToUse: null, v4Prefix: V4, v6Prefix: V6 },
      clock: new ManualClock(),
      log: silentLog,
    });
    expect(profile.systemUpstreams).toEqual([{ address: '192.168.1.1', port: 53, family: 4 }]);
    expect(runner.take()).toEqual([
      'route -n get default',
      'ifconfig',
      'netstat -rn -f inet',
      'ifconfig',
      'netstat -rn -f inet6',
      'scutil --dns',
      'ifconfig en0 alias 100.64.0.1 255.255.255.255',
      'ifconfig en0 inet6 fd62:6f75:6e64::53 prefixlen 128 alias',
    ]);
    await profile.close();
    expect(runner.take()).toEqual([
      'ifconfig en0 inet6 fd62:6f75:6e64::53 -alias',
      'ifconfig en0 -alias 100.64.0.1',
    ]);
  });

  it('refuses an overlapping prefix, naming the address and route', async () => {
    const { platform, runner } = setup();
    runner
      .on(
        'ifconfig',
        'utun4: flags=8051<UP> mtu 1280\n\tinet 100.100.7.8 --> 100.100.7.8 netmask 0xffffffff\n',
      )
      .on('netstat -rn -f inet', 'Destination Gateway Flags Netif\n100.64/10 link#22 UCS utun4\n');
    const err = await rejection(platform.addresses.checkPrefix(V4), PlatformError);
    expect(err.message).toContain('address 100.100.7.8 on utun4; route 100.64.0.0/10 via utun4');
  });

  it('reads netstat shorthand destinations', () => {
    expect(
      parseNetstatRoutes(
        '100.64/10 l U utun4\n192.168.1 l U en0\n10.1.2.3 l U en0\nfe80::%lo0/64 l U lo0\ndefault g U en0',
      ),
    ).toEqual([
      { cidr: '100.64.0.0/10', interface: 'utun4' },
      { cidr: '192.168.1.0/24', interface: 'en0' },
      { cidr: '10.1.2.3/32', interface: 'en0' },
      { cidr: 'fe80::/64', interface: 'lo0' },
    ]);
  });
});

describe('macOS resolver (networksetup)', () => {
  it('sets the service of the interface, flushes the caches, and sets Empty back when there were none', async () => {
    const { platform, runner, states } = setup();
    await platform.resolver.apply(CONFIG);
    expect(runner.take()).toEqual([
      'networksetup -listnetworkserviceorder',
      'networksetup -getdnsservers Wi-Fi',
      'scutil --dns',
      'networksetup -setdnsservers Wi-Fi 100.64.0.1 fd62:6f75:6e64::53',
      ...FLUSH,
    ]);
    expect(states[0]?.resolver).toEqual({
      kind: 'networksetup',
      service: 'Wi-Fi',
      servers: [],
      upstreams: ['192.168.1.1', 'fe80::1%en0'],
    });
    await platform.resolver.apply(EMPTY);
    expect(runner.take()).toEqual(['networksetup -setdnsservers Wi-Fi Empty', ...FLUSH]);
  });

  it('puts manual servers back as they were', async () => {
    const { platform, runner } = setup();
    runner.on(
      'networksetup -listnetworkserviceorder',
      ORDER.replace('Device: en0', 'Device: en9').replace('Device: en7', 'Device: en0'),
    );
    runner.on('networksetup -getdnsservers "USB 10/100/1000 LAN"', '1.1.1.1\n9.9.9.9\n');
    await platform.resolver.apply(CONFIG);
    expect(runner.take()[3]).toBe(
      'networksetup -setdnsservers "USB 10/100/1000 LAN" 100.64.0.1 fd62:6f75:6e64::53',
    );
    await platform.resolver.apply(EMPTY);
    expect(runner.take()).toEqual([
      'networksetup -setdnsservers "USB 10/100/1000 LAN" 1.1.1.1 9.9.9.9',
      ...FLUSH,
    ]);
  });

  it('undoes the change when flushing fails half-way', async () => {
    const { platform, runner } = setup();
    runner.fail('dscacheutil -flushcache', 'dscacheutil: error');
    await rejection(platform.resolver.apply(CONFIG), PlatformError);
    expect(runner.take().slice(3)).toEqual([
      'networksetup -setdnsservers Wi-Fi 100.64.0.1 fd62:6f75:6e64::53',
      'dscacheutil -flushcache',
      'networksetup -setdnsservers Wi-Fi Empty',
      'dscacheutil -flushcache',
    ]);
    // The undo itself failed at its flush: the state stays for the next start.
    expect(platform.state().resolver?.kind).toBe('networksetup');
  });

  it('says which interface has no network service', async () => {
    const { platform } = setup();
    const err = await rejection(
      platform.resolver.apply({ interface: 'en5', servers: ['100.64.0.1'] }),
      PlatformError,
    );
    expect(err.code).toBe('platform.no_network_service');
  });

  it('recovers a dead run', async () => {
    const { platform, runner } = setup();
    const report = await platform.recover({
      version: 1,
      addresses: [
        { interface: 'en0', address: '100.64.0.1' },
        { interface: 'en0', address: '100.64.9.1' },
      ],
      resolver: { kind: 'networksetup', service: 'Wi-Fi', servers: ['192.168.1.1'], upstreams: [] },
    });
    expect(runner.take()).toEqual([
      'networksetup -setdnsservers Wi-Fi 192.168.1.1',
      ...FLUSH,
      'ifconfig en0 -alias 100.64.9.1',
      'ifconfig en0 -alias 100.64.0.1',
    ]);
    expect(report.remaining).toEqual({ version: 1, addresses: [], resolver: null });
  });

  it('reads the default resolvers of scutil --dns', () => {
    expect(parseScutilDns(SCUTIL)).toEqual(['192.168.1.1', 'fe80::1%en0']);
  });
});

describe('macOS port owners and peers (lsof)', () => {
  const LSOF =
    'p512\ncmDNSResponder\nf5\nn*:53\nf6\nn192.168.1.20:61000->8.8.8.8:53\np77\ncdnsmasq\nn100.64.0.1:53\n';

  it('names the listeners of an address, not clients talking to port 53', async () => {
    const { platform, runner } = setup();
    runner.on('lsof -nP -iUDP:53 -iTCP:53 -sTCP:LISTEN -F pcn', LSOF);
    expect(await platform.ports.describePortOwner('100.64.0.1', 53)).toBe(
      'mDNSResponder (pid 512), dnsmasq (pid 77)',
    );
    expect(parseLsof(LSOF).map((s) => s.local)).toEqual(['*', '192.168.1.20', '100.64.0.1']);
  });

  it('treats lsof finding nothing as no owner', async () => {
    const { platform, runner } = setup();
    runner.fail('lsof -nP -iUDP:53 -F pcn', '', 1);
    expect(await platform.ports.owners('udp', 53)).toEqual([]);
  });

  it('finds the uid of the peer socket, not our own end', async () => {
    const runner = new FakeRunner().on(
      'lsof -nP -iTCP@127.0.0.1:50000 -F pun',
      'p100\nu0\nn100.64.0.9:22->127.0.0.1:50000\np200\nu501\nn127.0.0.1:50000->100.64.0.9:22\n',
    );
    const peers = new DarwinPeerCredentials({ runner, ownPid: 100 });
    expect(
      await peers.uidOf({ address: '127.0.0.1', port: 50000 }, { address: '100.64.0.9', port: 22 }),
    ).toBe(501);
    expect(
      await peers.uidOf({ address: '127.0.0.1', port: 50000 }, { address: '100.64.0.9', port: 23 }),
    ).toBeUndefined();
  });

  it('finds the uid of the UDP socket a DNS query came from, connected or only bound', async () => {
    const dnsEnd = { address: '100.64.0.1', port: 53 };
    const runner = new FakeRunner()
      // an unconnected client socket on the wildcard; our own socket (pid 100) is left out
      .on('lsof -nP -iUDP:50000 -F pun', 'p100\nu0\nn100.64.0.1:53\np200\nu501\nn*:50000\n')
      // a connected one wins over another user's socket bound to the same port elsewhere
      .on(
        'lsof -nP -iUDP:50001 -F pun',
        'p300\nu502\nn10.0.0.5:50001\np200\nu501\nn127.0.0.1:50001->100.64.0.1:53\n',
      )
      // two users' sockets that would both fit: unknown
      .on('lsof -nP -iUDP:50002 -F pun', 'p200\nu501\nn*:50002\np300\nu502\nn127.0.0.1:50002\n')
      // IPv6, bracketed
      .on('lsof -nP -iUDP:50003 -F pun', 'p200\nu501\nn[fd00::9]:50003->[fd00::1]:53\n');
    runner.fail('lsof -nP -iUDP:50004 -F pun', '', 1);
    const peers = new DarwinPeerCredentials({ runner, ownPid: 100 });
    const from = (port: number, address = '127.0.0.1') => ({ address, port });
    expect(await peers.uidOfUdp(from(50000), dnsEnd)).toBe(501);
    expect(await peers.uidOfUdp(from(50001), dnsEnd)).toBe(501);
    expect(await peers.uidOfUdp(from(50002), dnsEnd)).toBeUndefined();
    expect(await peers.uidOfUdp(from(50003, 'fd00::9'), { address: 'fd00::1', port: 53 })).toBe(
      501,
    );
    expect(await peers.uidOfUdp(from(50004), dnsEnd)).toBeUndefined();
  });
});
