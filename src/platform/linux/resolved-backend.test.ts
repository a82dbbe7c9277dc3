import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rejection } from '../../../test/helpers/rejection.js';
import { FakeRunner } from '../../../test/platform/fake-runner.js';
import { silentLog, tempRoot } from '../../../test/platform/platform-fixtures.js';
import { ManualClock } from '../../lib/index.js';
import { PlatformError } from '../errors.js';
import { EMPTY } from '../platform.js';
import type { PlatformState } from '../platform-state.js';
import { rootFs } from '../root-fs.js';
import { createLinuxPlatform } from './linux-platform.js';
import { parseResolvectlLists } from './resolved-backend.js';

/** The agent's own link; eth0 is the primary one, which NetworkManager owns. */
const LINK = 'cab0';
const SERVERS = ['100.64.0.1', 'fd62:6f75:6e64::53'];
const CONFIG = { interface: LINK, servers: SERVERS };
const ETH0 = 'Link 2 (eth0): 192.168.1.1 fe80::1%eth0';

function setup() {
  const root = tempRoot();
  fs.mkdirSync(path.join(root, 'etc'));
  fs.symlinkSync('../run/systemd/resolve/stub-resolv.conf', path.join(root, 'etc/resolv.conf'));
  const runner = new FakeRunner()
    .on(`resolvectl dns ${LINK}`, `Link 9 (${LINK}):\n`)
    .on(`resolvectl domain ${LINK}`, `Link 9 (${LINK}):\n`)
    .on(
      'resolvectl dns',
      `Global: 127.0.0.53\n${ETH0}\nLink 3 (wg0): 10.8.0.1#dns.corp\nLink 9 (${LINK}): 100.64.0.1\n`,
    );
  const states: PlatformState[] = [];
  const platform = createLinuxPlatform({
    runner,
    fs: rootFs({ root }),
    clock: new ManualClock(),
    log: silentLog,
    onChange: (s) => {
      states.push(s);
    },
  });
  return { platform, runner, states };
}

const SNAPSHOT = [`resolvectl dns ${LINK}`, `resolvectl domain ${LINK}`, 'resolvectl dns'];
const SET_SERVERS = `resolvectl dns ${LINK} 100.64.0.1 fd62:6f75:6e64::53`;
const RESTORE = [`resolvectl revert ${LINK}`, 'resolvectl flush-caches'];
const GONE = `Failed to resolve interface "${LINK}": No such device`;

describe('systemd-resolved take-over', () => {
  it('split (the default): only the agent link, no default route, its domains the aliases at each refresh', async () => {
    const { platform, runner, states } = setup();
    expect(await platform.resolver.mode()).toBe('systemd-resolved');
    await platform.resolver.apply({ ...CONFIG, dnsMode: 'auto' });
    expect(runner.take()).toEqual([
      ...SNAPSHOT,
      SET_SERVERS,
      `resolvectl domain ${LINK} ""`,
      `resolvectl default-route ${LINK} false`,
      'resolvectl flush-caches',
    ]);
    expect(states[0]?.resolver).toEqual({
      kind: 'systemd-resolved',
      link: LINK,
      servers: [],
      domains: [],
      upstreams: ['192.168.1.1', 'fe80::1%eth0', '10.8.0.1'],
    });
    await platform.resolver.setDomains(['web.corp', 'DB.prod.corp', 'web.corp']);
    expect(runner.take()).toEqual([
      `resolvectl domain ${LINK} ~db.prod.corp ~web.corp`,
      `resolvectl default-route ${LINK} false`,
      'resolvectl flush-caches',
    ]);
    // The same aliases again (a refresh without changes): nothing to do.
    await platform.resolver.setDomains(['db.prod.corp', 'web.corp']);
    expect(runner.take()).toEqual([]);
    await platform.resolver.apply(EMPTY);
    expect(runner.take()).toEqual(RESTORE);
    expect(platform.state().resolver).toBeNull();
  });

  it('routes aliases known before the take-over at once, and keeps later ones for the next take-over', async () => {
    const { platform, runner } = setup();
    await platform.resolver.setDomains(['a.corp']);
    expect(runner.take()).toEqual([]);
    await platform.resolver.apply(CONFIG);
    expect(runner.take()).toContain(`resolvectl domain ${LINK} ~a.corp`);
    await platform.resolver.apply(EMPTY);
    await platform.resolver.setDomains(['b.corp']);
    expect(runner.take()).toEqual(RESTORE);
    await platform.resolver.apply(CONFIG);
    expect(runner.take()).toContain(`resolvectl domain ${LINK} ~b.corp`);
  });

  it('coalesces alias updates that come in while one is being applied', async () => {
    const { platform, runner } = setup();
    await platform.resolver.apply(CONFIG);
    runner.take();
    const first = platform.resolver.setDomains(['a.corp']);
    const second = platform.resolver.setDomains(['b.corp']);
    const third = platform.resolver.setDomains(['c.corp']);
    await Promise.all([first, second, third]);
    expect(runner.take().filter((c) => c.startsWith(`resolvectl domain ${LINK}`))).toEqual([
      `resolvectl domain ${LINK} ~a.corp`,
      `resolvectl domain ${LINK} ~c.corp`,
    ]);
  });

  it('full: ~. and the default route on the agent link; alias updates change nothing', async () => {
    const { platform, runner } = setup();
    await platform.resolver.apply({ ...CONFIG, dnsMode: 'full' });
    expect(runner.take()).toEqual([
      ...SNAPSHOT,
      SET_SERVERS,
      `resolvectl domain ${LINK} ~.`,
      `resolvectl default-route ${LINK} true`,
      'resolvectl flush-caches',
    ]);
    await platform.resolver.setDomains(['a.corp']);
    expect(runner.take()).toEqual([]);
  });

  it('never touches another link, and forwards to the other links and global servers read now, never the stub or its own link', async () => {
    const { platform, runner } = setup();
    await platform.resolver.apply(CONFIG);
    await platform.resolver.setDomains(['a.corp']);
    expect(runner.take().filter((c) => / (eth0|wg0)\b/.test(c))).toEqual([]);
    expect(await platform.resolver.upstreams(SERVERS)).toEqual([
      { address: '192.168.1.1', port: 53, family: 4 },
      { address: '10.8.0.1', port: 53, family: 4 },
    ]);
    // NetworkManager gives eth0 the new network's resolver.
    runner.on(
      'resolvectl dns',
      `Global:\nLink 2 (eth0): 10.200.0.54\nLink 9 (${LINK}): 100.64.0.1\n`,
    );
    expect(await platform.resolver.upstreams(SERVERS)).toEqual([
      { address: '10.200.0.54', port: 53, family: 4 },
    ]);
  });

  it('a link already gone at stop is not an error: resolved dropped its settings with it', async () => {
    const { platform, runner } = setup();
    await platform.resolver.apply(CONFIG);
    runner.take();
    runner.fail(`resolvectl revert ${LINK}`, GONE);
    await platform.resolver.apply(EMPTY);
    expect(runner.take()).toEqual([`resolvectl revert ${LINK}`]);
    expect(platform.state().resolver).toBeNull();
  });

  it('refuses loopback before changing anything: resolved denies per-link DNS there', async () => {
    const { platform, runner } = setup();
    const err = await rejection(
      platform.resolver.apply({ ...CONFIG, interface: 'lo' }),
      PlatformError,
    );
    expect(err.code).toBe('platform.resolved_loopback');
    expect(runner.take()).toEqual([]);
    expect(platform.state().resolver).toBeNull();
  });

  it("gives a link of the user's choice (interface_to_use) its own servers and domains back", async () => {
    const { platform, runner } = setup();
    runner
      .on('resolvectl dns eth0', `${ETH0}\n`)
      .on('resolvectl domain eth0', 'Link 2 (eth0): lan\n');
    await platform.resolver.apply({ ...CONFIG, interface: 'eth0' });
    runner.take();
    await platform.resolver.apply(EMPTY);
    expect(runner.take()).toEqual([
      'resolvectl revert eth0',
      'resolvectl dns eth0 192.168.1.1 fe80::1%eth0',
      'resolvectl domain eth0 lan',
      'resolvectl flush-caches',
    ]);
  });

  it('undoes the first step when the second fails, and throws', async () => {
    const { platform, runner } = setup();
    runner.fail(
      `resolvectl domain ${LINK} ~.`,
      'Failed to set domain configuration: Access denied',
    );
    const err = await rejection(
      platform.resolver.apply({ ...CONFIG, dnsMode: 'full' }),
      PlatformError,
    );
    expect(err.message).toContain('Access denied');
    expect(err.command).toBe(`resolvectl domain ${LINK} ~.`);
    expect(runner.take()).toEqual([
      ...SNAPSHOT,
      SET_SERVERS,
      `resolvectl domain ${LINK} ~.`,
      ...RESTORE,
    ]);
    expect(platform.state().resolver).toBeNull();
  });

  it('keeps the state when the undo fails too, for the next start to retry', async () => {
    const { platform, runner } = setup();
    runner.fail(`resolvectl domain ${LINK} ~.`).fail(`resolvectl revert ${LINK}`, 'Access denied');
    await rejection(platform.resolver.apply({ ...CONFIG, dnsMode: 'full' }), PlatformError);
    expect(platform.state().resolver?.kind).toBe('systemd-resolved');
  });

  it('an alias update that fails is a warning, not a crash', async () => {
    const { platform, runner } = setup();
    await platform.resolver.apply(CONFIG);
    runner.fail(
      `resolvectl domain ${LINK} ~a.corp`,
      'Failed to set domain configuration: Access denied',
    );
    await platform.resolver.setDomains(['a.corp']);
    expect(platform.resolver.warnings()[0]).toMatch(
      /Could not route the aliases to the agent: .*Access denied/,
    );
  });

  it('recovers a dead run: link restored, addresses removed (one already gone)', async () => {
    const { platform, runner } = setup();
    runner.fail(
      'ip addr del fd62:6f75:6e64::53/128 dev eth0',
      'RTNETLINK answers: Cannot assign requested address',
      2,
    );
    const report = await platform.recover({
      version: 1,
      addresses: [
        { interface: 'eth0', address: '100.64.0.1' },
        { interface: 'eth0', address: 'fd62:6f75:6e64::53' },
      ],
      resolver: {
        kind: 'systemd-resolved',
        link: 'eth0',
        servers: ['192.168.1.1'],
        domains: ['lan'],
        upstreams: [],
      },
    });
    expect(runner.take()).toEqual([
      'resolvectl revert eth0',
      'resolvectl dns eth0 192.168.1.1',
      'resolvectl domain eth0 lan',
      'resolvectl flush-caches',
      'ip addr del fd62:6f75:6e64::53/128 dev eth0',
      'ip addr del 100.64.0.1/32 dev eth0',
    ]);
    expect(report.failed).toEqual([]);
    expect(report.undone).toHaveLength(3);
    expect(report.remaining).toEqual({ version: 1, addresses: [], resolver: null });
  });

  it('recovers a dead run whose link went with it (kill -9 closed the tun)', async () => {
    const { platform, runner } = setup();
    runner.fail(`resolvectl revert ${LINK}`, GONE);
    const report = await platform.recover({
      version: 1,
      addresses: [],
      resolver: { kind: 'systemd-resolved', link: LINK, servers: [], domains: [], upstreams: [] },
    });
    expect(runner.take()).toEqual([`resolvectl revert ${LINK}`]);
    expect(report.failed).toEqual([]);
    expect(report.remaining.resolver).toBeNull();
  });

  it('reports what it could not undo and keeps it', async () => {
    const { platform, runner } = setup();
    runner.fail('ip addr del 100.64.0.1/32 dev eth0', 'Operation not permitted', 2);
    const report = await platform.recover({
      version: 1,
      addresses: [{ interface: 'eth0', address: '100.64.0.1' }],
      resolver: null,
    });
    expect(report.failed).toEqual([
      expect.stringContaining('could not remove 100.64.0.1 from eth0'),
    ]);
    expect(report.remaining.addresses).toEqual([{ interface: 'eth0', address: '100.64.0.1' }]);
  });
});

describe('parseResolvectlLists', () => {
  it('reads global and per-link lists, dropping DoT names and ports', () => {
    expect(
      parseResolvectlLists(
        'Global: 1.1.1.1#cloudflare-dns.com 9.9.9.9:53\nLink 7 (wlp0s20f3): [2001:db8::1]:53\nnoise',
      ),
    ).toEqual([['1.1.1.1', '9.9.9.9'], ['2001:db8::1']]);
  });

  it('joins the indented lines resolvectl wraps a long list onto', () => {
    expect(
      parseResolvectlLists(
        'Global:\nLink 10 (cab0): ~a.corp ~b.corp\n        ~c.corp ~d.corp\n        ~e.corp\nLink 11 (eth0):\n',
      ),
    ).toEqual([[], ['~a.corp', '~b.corp', '~c.corp', '~d.corp', '~e.corp'], []]);
  });
});
