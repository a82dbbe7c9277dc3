import { describe, expect, it } from 'vitest';
import { FakeRunner } from '../../test/platform/fake-runner.js';
import { silentLog } from '../../test/platform/platform-fixtures.js';
import { ManualClock, UnsupportedPlatformError } from '../lib/index.js';
import { createPlatform } from './create-platform.js';
import { rootFs } from './root-fs.js';

describe('createPlatform', () => {
  const base = { runner: new FakeRunner(), fs: rootFs(), log: silentLog, clock: new ManualClock() };

  it('chooses Linux or macOS', () => {
    expect(createPlatform({ ...base, platform: 'linux' }).name).toBe('linux');
    const mac = createPlatform({ ...base, platform: 'darwin' });
    expect(mac.name).toBe('darwin');
    expect(mac.service.definitionPath).toBe(
      '/Library/LaunchDaemons/org.clientagent.client-agent.plist',
    );
    expect(mac.state()).toEqual({ version: 1, addresses: [], resolver: null });
  });

  it('refuses any other OS, saying which', () => {
    expect(() => createPlatform({ ...base, platform: 'win32' })).toThrow(UnsupportedPlatformError);
    expect(() => createPlatform({ ...base, platform: 'freebsd' })).toThrow(/freebsd/);
  });
});
