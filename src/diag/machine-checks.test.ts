/**
 * The machine checks on macOS, by the exact commands they run (a fake command runner answers
 * like a Mac would), with the agent's real DNS server on loopback answering the probe name. The
 * OS resolver lookup (getaddrinfo on a Mac) is the one thing given an answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeRunner } from '../../test/platform/fake-runner.js';
import { silentLog, tempRoot, V4 } from '../../test/platform/platform-fixtures.js';
import { buildChain, ProbeHandler, DnsServer } from '../dns/index.js';
import { systemClock } from '../lib/index.js';
import { createDarwinPlatform, DarwinPeerCredentials, rootFs } from '../platform/index.js';
import { nodeDnsProbe, type DnsProbe, type LookupResult } from './dns-probe.js';
import { MACHINE_STEPS, runMachineChecks } from './machine-checks.js';
import type { MachineFacts } from './machine-facts.js';

const SCUTIL = (first: string) => `DNS configuration

resolver #1
  nameserver[0] : ${first}
  nameserver[1] : 192.168.1.1
  if_index : 6 (en0)

DNS configuration (for scoped queries)

resolver #1
  nameserver[0] : 192.168.1.1
`;
const IFCONFIG = `lo0: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> mtu 16384
\tinet 127.0.0.1 netmask 0xff000000
en0: flags=8863<UP,BROADCAST> mtu 1500
\tinet 192.168.1.20 netmask 0xffffff00 broadcast 192.168.1.255
\tinet 100.64.0.1 netmask 0xffffffff
`;
const NETSTAT = `Routing tables

Internet:
Destination        Gateway            Flags               Netif Expire
default            192.168.1.1        UGScg                 en0
100.64.0.1         link#6             UHS                   lo0
192.168.1          link#6             UCS                   en0      !
`;

let server: DnsServer;
let port = 0;

beforeAll(async () => {
  server = new DnsServer({
    addresses: ['127.0.0.1'],
    port: 0,
    handle: buildChain([new ProbeHandler({ addresses: () => ['127.0.0.1'] })]),
    clock: systemClock,
    log: silentLog,
  });
  await server.start();
  port = server.addresses()[0]?.port ?? 0;
});

afterAll(async () => {
  await server.close();
});

function mac(runner: FakeRunner) {
  return createDarwinPlatform({
    runner,
    fs: rootFs({ root: tempRoot() }),
    log: silentLog,
    peers: new DarwinPeerCredentials({ runner }),
  });
}

function probe(lookup: LookupResult): DnsProbe {
  const real = nodeDnsProbe({ askTimeoutMs: 1_000 });
  return {
    ask: (server, name, type) => real.ask(server, name, type),
    lookup: () => Promise.resolve(lookup),
  };
}

function facts(overrides: Partial<MachineFacts> = {}): MachineFacts {
  return {
    ...(overrides.notRunning === undefined ? { status: 'running' as const } : {}),
    profile: 'system',
    pid: 4242,
    interface: 'en0',
    dnsAddresses: ['127.0.0.1'],
    dnsPort: port,
    ownAddresses: ['127.0.0.1', '100.64.0.1'],
    v4Prefix: V4,
    v6Prefix: null,
    upstreams: [{ address: '127.0.0.1', port, family: 4 }],
    aliasCount: 2,
    ...overrides,
  };
}

describe('machine checks on macOS', () => {
  it('pass on a healthy Mac, reading it with exactly these commands', async () => {
    const runner = new FakeRunner()
      .on('ifconfig', IFCONFIG)
      .on('scutil --dns', SCUTIL('127.0.0.1'))
      .on(/^netstat -rn -f inet$/, NETSTAT)
      .on(
        new RegExp(`^lsof -nP -iUDP:${port} -F pcn$`),
        `p4242\ncnode\nf20\nn127.0.0.1:${port}\np77\ncmDNSResponder\nf5\nn*:5353\n`,
      )
      .fail(new RegExp(`^lsof -nP -iTCP:${port} -sTCP:LISTEN -F pcn$`), '', 1);
    const steps = await runMachineChecks({
      facts: facts(),
      platform: mac(runner),
      dns: probe({ kind: 'answer', addresses: ['127.0.0.1'] }),
    });
    expect(steps.map((s) => `${s.id}:${s.status}`)).toEqual(
      MACHINE_STEPS.map((s) => `${s.id}:pass`),
    );
    expect(runner.calls).toEqual([
      'ifconfig',
      'scutil --dns',
      `lsof -nP -iUDP:${port} -F pcn`,
      `lsof -nP -iTCP:${port} -sTCP:LISTEN -F pcn`,
      'ifconfig',
      'netstat -rn -f inet',
    ]);
    expect(steps.find((s) => s.id === 'resolver')?.seen).toBe(
      'networksetup: nameservers 127.0.0.1, 192.168.1.1',
    );
    expect(steps.find((s) => s.id === 'port-53')?.seen).toBe(
      `port ${port}: the agent on 127.0.0.1`,
    );
  });

  it('names a VPN on the prefix, a resolver that skips the agent, and a probe answered by someone else', async () => {
    const runner = new FakeRunner()
      .on(
        'ifconfig',
        `${IFCONFIG}utun4: flags=8051<UP,POINTOPOINT> mtu 1280\n\tinet 100.100.1.2 --> 100.100.1.2 netmask 0xffffffff\n`,
      )
      .on('scutil --dns', SCUTIL('192.168.1.1'))
      .on(
        /^netstat -rn -f inet$/,
        `${NETSTAT}100.64/10           link#20            UCS                 utun4\n`,
      );
    const steps = await runMachineChecks({
      facts: facts(),
      platform: mac(runner),
      dns: probe({ kind: 'answer', addresses: ['100.100.100.100'] }),
    });
    const step = (id: string) => steps.find((s) => s.id === id);
    expect(step('resolver')).toMatchObject({ status: 'fail' });
    expect(step('resolver')?.seen).toContain("the agent's 127.0.0.1 is not among them");
    expect(step('probe-os')?.seen).toMatch(
      /^HIJACKED: probe\.client-agent\.test → 100\.100\.100\.100/,
    );
    expect(step('prefixes')).toMatchObject({ status: 'fail' });
    expect(step('prefixes')?.seen).toBe(
      'v4_prefix 100.64.0.0/10 overlaps what is already on this machine: address 100.100.1.2 on utun4; route 100.64.0.0/10 via utun4',
    );
    expect(step('prefixes')?.fix).toContain('Tailscale uses 100.64.0.0/10');
  });

  it('with the agent stopped: names who holds port 53 on every address', async () => {
    const runner = new FakeRunner()
      .on('ifconfig', IFCONFIG)
      .on('scutil --dns', SCUTIL('192.168.1.1'))
      .on(/^netstat -rn -f inet$/, NETSTAT)
      .on('lsof -nP -iUDP:53 -F pcn', 'p812\ncdnsmasq\nf4\nn*:53\n')
      .fail('lsof -nP -iTCP:53 -sTCP:LISTEN -F pcn', '', 1);
    const steps = await runMachineChecks({
      facts: facts({
        dnsPort: 53,
        upstreams: [],
        notRunning: { message: 'the client agent is not running on port 9300' },
      }),
      platform: mac(runner),
      dns: probe({ kind: 'not_found' }),
    });
    const step = (id: string) => steps.find((s) => s.id === id);
    expect(step('agent')?.status).toBe('fail');
    expect(step('dns-addresses')?.status).toBe('skip');
    expect(step('resolver')?.status).toBe('pass');
    expect(step('port-53')).toMatchObject({
      status: 'fail',
      seen: 'port 53: dnsmasq (pid 812) on *: the agent cannot bind 127.0.0.1 port 53',
    });
    expect(step('upstreams')?.status).toBe('fail');
  });

  it('counts an upstream that answers with an error as reachable, one that never answers as failed', async () => {
    const runner = new FakeRunner()
      .on('ifconfig', IFCONFIG)
      .on('scutil --dns', SCUTIL('127.0.0.1'))
      .on(/^netstat -rn -f inet$/, NETSTAT)
      .on(new RegExp(`^lsof -nP -iUDP:${port} -F pcn$`), `p4242\ncnode\nf20\nn127.0.0.1:${port}\n`)
      .fail(new RegExp(`^lsof -nP -iTCP:${port} -sTCP:LISTEN -F pcn$`), '', 1);
    const upstreams = [
      { address: '192.0.2.1', port: 53, family: 4 as const },
      { address: '192.0.2.2', port: 53, family: 4 as const },
    ];
    const real = probe({ kind: 'answer', addresses: ['127.0.0.1'] });
    const dns: DnsProbe = {
      ask: (server, name, type) =>
        server.address === '192.0.2.1'
          ? Promise.resolve({ kind: 'error', code: 'EREFUSED' })
          : server.address === '192.0.2.2'
            ? Promise.resolve({ kind: 'no_answer', code: 'ETIMEOUT' })
            : real.ask(server, name, type),
      lookup: (name) => real.lookup(name),
    };
    const steps = await runMachineChecks({
      facts: facts({ upstreams }),
      platform: mac(runner),
      dns,
    });
    expect(steps.find((s) => s.id === 'upstreams')).toMatchObject({
      status: 'warn',
      seen: '192.0.2.1:53 answers (EREFUSED for probe.client-agent.test), 192.0.2.2:53 fails (ETIMEOUT)',
    });
  });
});
