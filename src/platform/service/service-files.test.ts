import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeRunner } from '../../../test/platform/fake-runner.js';
import { tempRoot } from '../../../test/platform/platform-fixtures.js';
import { rootFs } from '../root-fs.js';
import { LaunchdService } from './launchd-service.js';
import { LAUNCHD_LABEL, launchdPlist, systemdUnit } from './service-files.js';
import { SystemdService } from './systemd-service.js';

const repo = path.resolve(import.meta.dirname, '../../..');

function has(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('service definitions', () => {
  it('the checked-in unit and plist are the generated ones', () => {
    expect(fs.readFileSync(path.join(repo, 'systemd/client-agent.service'), 'utf8')).toBe(
      systemdUnit(),
    );
    expect(fs.readFileSync(path.join(repo, `launchd/${LAUNCHD_LABEL}.plist`), 'utf8')).toBe(
      launchdPlist(),
    );
  });

  it('the unit has the settings the daemon relies on', () => {
    const unit = systemdUnit();
    for (const line of [
      'Type=simple',
      'Restart=on-failure',
      'ExecStart=/usr/local/bin/client-agent daemon --config /etc/client-agent/client-agent.hcl',
      'ExecStopPost=/usr/local/bin/client-agent daemon --config /etc/client-agent/client-agent.hcl --cleanup',
      'AmbientCapabilities=CAP_NET_ADMIN CAP_NET_BIND_SERVICE',
    ]) {
      expect(unit.split('\n')).toContain(line);
    }
  });

  const verify = has('systemd-analyze', ['--version']);
  if (!verify) console.log('skipping systemd-analyze verify: systemd-analyze is not installed');
  it.skipIf(!verify)('passes systemd-analyze verify', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-unit-'));
    try {
      // verify insists the executable exists: point the unit at a stand-in.
      const binary = path.join(dir, 'client-agent');
      fs.writeFileSync(binary, '#!/bin/sh\n', { mode: 0o755 });
      const unit = path.join(dir, 'client-agent.service');
      fs.writeFileSync(
        unit,
        systemdUnit({ binary, configFile: '/etc/client-agent/client-agent.hcl' }),
      );
      const out = execFileSync('systemd-analyze', ['verify', unit], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      expect(out).toBe('');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  const python = has('python3', ['--version']);
  if (!python) console.log('skipping the plist XML check: python3 is not installed');
  it.skipIf(!python)('the plist is well-formed XML with the keys launchd needs', () => {
    const keys = execFileSync(
      'python3',
      [
        '-c',
        'import sys, xml.etree.ElementTree as E; print(" ".join(k.text for k in E.parse(sys.argv[1]).getroot().find("dict").findall("key")))',
        path.join(repo, `launchd/${LAUNCHD_LABEL}.plist`),
      ],
      { encoding: 'utf8' },
    );
    expect(keys.trim().split(' ')).toEqual(
      expect.arrayContaining([
        'Label',
        'ProgramArguments',
        'RunAtLoad',
        'KeepAlive',
        'StandardOutPath',
        'StandardErrorPath',
      ]),
    );
  });

  it('escapes XML in paths', () => {
    expect(launchdPlist({ binary: '/opt/a&b/client-agent', configFile: '/x<y>.hcl' })).toContain(
      '<string>/opt/a&amp;b/client-agent</string>',
    );
  });
});

describe('service managers', () => {
  it('systemd: writes the unit, reloads, enables and starts; uninstall disables, removes, reloads', async () => {
    const root = tempRoot();
    const runner = new FakeRunner();
    const service = new SystemdService({ runner, fs: rootFs({ root }) });
    await service.install();
    expect(
      fs.readFileSync(path.join(root, 'etc/systemd/system/client-agent.service'), 'utf8'),
    ).toBe(systemdUnit());
    expect(runner.take()).toEqual([
      'systemctl daemon-reload',
      'systemctl enable --now client-agent.service',
    ]);
    runner.fail(
      'systemctl disable --now client-agent.service',
      'Unit client-agent.service not loaded.',
      5,
    );
    await service.uninstall();
    expect(runner.take()).toEqual([
      'systemctl disable --now client-agent.service',
      'systemctl daemon-reload',
    ]);
    expect(fs.existsSync(path.join(root, 'etc/systemd/system/client-agent.service'))).toBe(false);
  });

  it('launchd: writes the plist, boots out an old one, enables and bootstraps; uninstall boots out and cleans up', async () => {
    const root = tempRoot();
    const runner = new FakeRunner().fail(
      `launchctl bootout system/${LAUNCHD_LABEL}`,
      'Boot-out failed: 3: No such process',
      3,
    );
    const service = new LaunchdService({ runner, fs: rootFs({ root }) });
    await service.install();
    const plist = path.join(root, `Library/LaunchDaemons/${LAUNCHD_LABEL}.plist`);
    expect(fs.readFileSync(plist, 'utf8')).toBe(launchdPlist());
    expect(fs.existsSync(path.join(root, 'Library/Logs/client-agent'))).toBe(true);
    expect(runner.take()).toEqual([
      `launchctl bootout system/${LAUNCHD_LABEL}`,
      `launchctl enable system/${LAUNCHD_LABEL}`,
      `launchctl bootstrap system /Library/LaunchDaemons/${LAUNCHD_LABEL}.plist`,
    ]);
    await service.uninstall();
    expect(runner.take()).toEqual([
      `launchctl bootout system/${LAUNCHD_LABEL}`,
      '/usr/local/bin/client-agent daemon --config "/Library/Application Support/client-agent/client-agent.hcl" --cleanup',
    ]);
    expect(fs.existsSync(plist)).toBe(false);
  });
});
