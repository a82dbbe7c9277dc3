import { describe, expect, it } from 'vitest';
import { rejection } from '../../../test/helpers/rejection.js';
import { FakeRunner } from '../../../test/platform/fake-runner.js';
import { silentLog, tempRoot } from '../../../test/platform/platform-fixtures.js';
import { PlatformError } from '../errors.js';
import { rootFs } from '../root-fs.js';
import { createDarwinPlatform } from './darwin-platform.js';
import { DarwinPeerCredentials } from './darwin-peer-credentials.js';
import { DarwinNotifier } from './darwin-notifier.js';

const NOTICE = {
  title: 'Boundary credentials for db.corp',
  body: 'Run "client-agent sessions" \\ now\nplease',
};
const SCRIPT =
  'display notification "Run \\"client-agent sessions\\" \\\\ now please" with title "Boundary credentials for db.corp"';

describe('DarwinNotifier', () => {
  it('posts as the console user from their GUI session: launchctl asuser, sudo -u, osascript', async () => {
    const runner = new FakeRunner().on('stat -f %u /dev/console', '4242\n');
    // Through the platform factory, as the daemon (root) gets it.
    const platform = createDarwinPlatform({
      runner,
      fs: rootFs({ root: tempRoot() }),
      log: silentLog,
      peers: new DarwinPeerCredentials({ runner }),
    });
    expect(await platform.notifier.notify(4242, NOTICE)).toBe('sent');
    expect(runner.calls).toEqual([
      'stat -f %u /dev/console',
      `launchctl asuser 4242 sudo -u "#4242" osascript -e ${JSON.stringify(SCRIPT)}`,
    ]);
  });

  it('runs osascript itself for its own uid (the dev profile, no root)', async () => {
    const runner = new FakeRunner().on('stat -f %u /dev/console', '501\n');
    const notifier = new DarwinNotifier({ runner, selfUid: 501 });
    expect(await notifier.notify(501, NOTICE)).toBe('sent');
    expect(runner.calls).toEqual([
      'stat -f %u /dev/console',
      `osascript -e ${JSON.stringify(SCRIPT)}`,
    ]);
  });

  it('posts nothing for a user who is not at the console', async () => {
    const runner = new FakeRunner().on('stat -f %u /dev/console', '0\n');
    const notifier = new DarwinNotifier({ runner, selfUid: 0 });
    expect(await notifier.notify(501, NOTICE)).toBe('no-session');
    expect(runner.calls).toEqual(['stat -f %u /dev/console']);
  });

  it('throws the command failure as a PlatformError', async () => {
    const runner = new FakeRunner()
      .on('stat -f %u /dev/console', '501\n')
      .fail(/^launchctl asuser /, 'Could not find domain for user');
    const notifier = new DarwinNotifier({ runner, selfUid: 0 });
    const err = await rejection(notifier.notify(501, NOTICE), PlatformError);
    expect(err.message).toContain('Could not find domain');
  });
});
