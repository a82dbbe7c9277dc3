import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { FakeRunner } from '../../../test/platform/fake-runner.js';
import { silentLog, tempRoot } from '../../../test/platform/platform-fixtures.js';
import { ManualClock } from '../../lib/index.js';
import { EMPTY } from '../platform.js';
import type { PlatformState } from '../platform-state.js';
import { rootFs } from '../root-fs.js';
import { createLinuxPlatform } from './linux-platform.js';

const ORIGINAL = 'search lan\nnameserver 192.168.1.1\n';
const CONFIG = { interface: 'eth0', servers: ['100.64.0.1'] };

function setup(checkRecordedFirst = true) {
  const root = tempRoot({ '/etc/resolv.conf': ORIGINAL });
  const file = path.join(root, 'etc/resolv.conf');
  const clock = new ManualClock();
  const states: PlatformState[] = [];
  const platform = createLinuxPlatform({
    runner: new FakeRunner(),
    fs: rootFs({ root }),
    clock,
    log: silentLog,
    watchIntervalMs: 1000,
    onChange: (s) => {
      // Recorded before the change: the file still holds the original when the take-over is recorded.
      if (checkRecordedFirst && s.resolver !== null && states.every((p) => p.resolver === null)) {
        expect(fs.readFileSync(file, 'utf8')).toBe(ORIGINAL);
      }
      states.push(s);
    },
  });
  return { platform, file, clock, states };
}

describe('resolv.conf take-over (no systemd-resolved)', () => {
  it('dns_mode "split" cannot split here: every name comes, and it says so', async () => {
    const { platform, file } = setup();
    await platform.resolver.setDomains(['db.corp']);
    await platform.resolver.apply({ ...CONFIG, dnsMode: 'split' });
    expect(fs.readFileSync(file, 'utf8')).toMatch(/^nameserver 100\.64\.0\.1$/m);
    expect(platform.resolver.warnings()).toEqual([
      'dns_mode "split" needs systemd-resolved; with resolv-conf every name goes to the agent.',
    ]);
    await platform.resolver.apply(EMPTY);
    expect(fs.readFileSync(file, 'utf8')).toBe(ORIGINAL);
  });

  it('records the original before rewriting, restores it exactly, and is idempotent', async () => {
    const { platform, file, states } = setup();
    expect(await platform.resolver.mode()).toBe('resolv-conf');
    await platform.resolver.apply(CONFIG);
    await platform.resolver.apply(CONFIG);
    expect(states).toHaveLength(1);
    expect(fs.readFileSync(file, 'utf8')).toMatch(
      /^# client-agent: managed.*\nnameserver 100\.64\.0\.1\n/,
    );
    expect(await platform.resolver.current()).toEqual(['100.64.0.1']);
    expect(await platform.resolver.upstreams(['100.64.0.1'])).toEqual([
      { address: '192.168.1.1', port: 53, family: 4 },
    ]);
    await platform.resolver.apply(EMPTY);
    await platform.resolver.apply(EMPTY);
    expect(fs.readFileSync(file, 'utf8')).toBe(ORIGINAL);
    expect(platform.state().resolver).toBeNull();
  });

  it('takes the file back after another program rewrites it, at a bounded rate, with warnings', async () => {
    const { platform, file, clock } = setup();
    await platform.resolver.apply(CONFIG);
    const overwrite = (n: number) => {
      fs.writeFileSync(file, `nameserver 10.9.9.${n}\n`);
    };
    for (let n = 1; n <= 5; n++) {
      overwrite(n);
      clock.advance(1000);
      await vi.waitFor(() => {
        expect(fs.readFileSync(file, 'utf8')).toMatch(/^# client-agent: managed/);
      });
    }
    expect(platform.resolver.warnings()).toHaveLength(5);
    overwrite(6);
    clock.advance(1000);
    await vi.waitFor(() => {
      expect(platform.resolver.warnings()[0]).toMatch(/keeps being rewritten/);
    });
    expect(fs.readFileSync(file, 'utf8')).toBe('nameserver 10.9.9.6\n');
    // A minute later, the window has room again.
    clock.advance(60_000);
    await vi.waitFor(() => {
      expect(fs.readFileSync(file, 'utf8')).toMatch(/^# client-agent: managed/);
    });
    await platform.resolver.apply(EMPTY);
    expect(fs.readFileSync(file, 'utf8')).toBe('nameserver 10.9.9.6\n');
    expect(clock.pending).toBe(0);
  });

  it('waits while the file is missing (another program between unlink and rename)', async () => {
    const { platform, file, clock } = setup();
    await platform.resolver.apply(CONFIG);
    fs.rmSync(file);
    clock.advance(1000);
    await vi.waitFor(() => {
      expect(clock.pending).toBe(1);
    });
    fs.writeFileSync(file, 'nameserver 10.1.1.1\n');
    clock.advance(1000);
    await vi.waitFor(() => {
      expect(fs.readFileSync(file, 'utf8')).toMatch(/^# client-agent: managed/);
    });
    expect(platform.resolver.warnings()).toHaveLength(1);
    await platform.resolver.apply(EMPTY);
    expect(fs.readFileSync(file, 'utf8')).toBe('nameserver 10.1.1.1\n');
  });

  it('a take-over left by a dead run is not taken as the original', async () => {
    const { platform, file } = setup();
    await platform.resolver.apply(CONFIG);
    platform.resolver.close();
    const again = setup(false);
    fs.copyFileSync(file, again.file);
    await again.platform.resolver.apply(CONFIG);
    await again.platform.resolver.apply(EMPTY);
    expect(fs.readFileSync(again.file, 'utf8')).toBe(ORIGINAL);
  });
});
