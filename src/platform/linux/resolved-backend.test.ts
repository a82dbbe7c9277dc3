import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rejection } from '../../../test/helpers/rejection.js';
import { FakeRunner } from '../../../test/platform/fake-runner.js';
import { silentLog, tempRoot } from '../../../test/platform/platform-fixtures.js';
import { ManualClock } from '../../lib/clock.js';
import { PlatformError } from '../errors.js';
import { EMPTY } from '../platform.js';
import type { PlatformState } from '../platform-state.js';
import { rootFs } from '../root-fs.js';
import { createLinuxPlatform } from './linux-platform.js';
import { parseResolvectlLists } from './resolved-backend.js';

const CONFIG = { interface: 'eth0', servers: ['100.64.0.1', 'fd62:6f75:6e64::53'] };

function setup() {
  const root = tempRoot();
  fs.mkdirSync(path.join(root, 'etc'));
  fs.symlinkSync('../run/systemd/resolve/stub-resolv.conf', path.join(root, 'etc/resolv.conf'));
  const runner = new FakeRunner()
    .on('resolvectl dns eth0', 'Link 2 (eth0): 192.168.1.1\n')
    .on('resolvectl domain eth0', 'Link 2 (eth0): lan\n')
    .on(
      'resolvectl dns',
      'Global:\nLink 2 (eth0): 192.168.1.1 fe80::1%eth0\nLink 3 (wg0): 10.8.0.1#dns.corp\n',
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

const SNAPSHOT = ['resolvectl dns eth0', 'resolvectl domain eth0', 'resolvectl dns'];
const RESTORE = [
  'resolvectl revert eth0',
  'resolvectl dns eth0 192.168.1.1',
  'resolvectl domain eth0 lan',
  'resolvectl flush-caches',
];

describe('systemd-resolved take-over', () => {
  it('sets per-link DNS with the ~. routing domain, and gives the link its own back', async () => {
    const { platform, runner, states } = setup();
    expect(await platform.resolver.mode()).toBe('systemd-resolved');
    await platform.resolver.apply(CONFIG);
    expect(runner.take()).toEqual([
      ...SNAPSHOT,
      'resolvectl dns eth0 100.64.0.1 fd62:6f75:6e64::53',
      'resolvectl domain eth0 ~.',
      'resolvectl flush-caches',
    ]);
    expect(states[0]?.resolver).toEqual({
      kind: 'systemd-resolved',
      link: 'eth0',
      servers: ['192.168.1.1'],
      domains: ['lan'],
      upstreams: ['192.168.1.1', 'fe80::1%eth0', '10.8.0.1'],
    });
    expect(await platform.resolver.upstreams(CONFIG.servers)).toEqual([
      { address: '192.168.1.1', port: 53, family: 4 },
      { address: '10.8.0.1', port: 53, family: 4 },
    ]);
    await platform.resolver.apply(EMPTY);
    expect(runner.take()).toEqual(RESTORE);
    expect(platform.state().resolver).toBeNull();
  });

  it('reverts a link that had no settings of its own', async () => {
    const { platform, runner } = setup();
    runner
      .on('resolvectl dns eth0', 'Link 2 (eth0):\n')
      .on('resolvectl domain eth0', 'Link 2 (eth0):\n');
    await platform.resolver.apply(CONFIG);
    runner.take();
    await platform.resolver.apply(EMPTY);
    expect(runner.take()).toEqual(['resolvectl revert eth0', 'resolvectl flush-caches']);
  });

  it('undoes the first step when the second fails, and throws', async () => {
    const { platform, runner } = setup();
    runner.fail('resolvectl domain eth0 ~.', 'Failed to set domain configuration: Access denied');
    const err = await rejection(platform.resolver.apply(CONFIG), PlatformError);
    expect(err.message).toContain('Access denied');
    expect(err.command).toBe('resolvectl domain eth0 ~.');
    expect(runner.take()).toEqual([
      ...SNAPSHOT,
      'resolvectl dns eth0 100.64.0.1 fd62:6f75:6e64::53',
      'resolvectl domain eth0 ~.',
      ...RESTORE,
    ]);
    expect(platform.state().resolver).toBeNull();
  });

  it('keeps the state when the undo fails too, for the next start to retry', async () => {
    const { platform, runner } = setup();
    runner.fail('resolvectl domain eth0 ~.').fail('resolvectl revert eth0');
    await rejection(platform.resolver.apply(CONFIG), PlatformError);
    expect(platform.state().resolver?.kind).toBe('systemd-resolved');
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
      ...RESTORE,
      'ip addr del fd62:6f75:6e64::53/128 dev eth0',
      'ip addr del 100.64.0.1/32 dev eth0',
    ]);
    expect(report.failed).toEqual([]);
    expect(report.undone).toHaveLength(3);
    expect(report.remaining).toEqual({ version: 1, addresses: [], resolver: null });
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
});
