import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { rejection } from '../../../test/helpers/rejection.js';
import { FakeRunner } from '../../../test/platform/fake-runner.js';
import { PlatformError } from '../errors.js';
import { LinuxNotifier } from './desktop-notifier.js';

const NOTICE = { title: 'Boundary credentials for db.corp', body: 'Say "hi" \\ bye' };
const ME = os.userInfo().uid;
const MY_GID = os.userInfo().gid;
/** Another uid for the daemon, so that the notifier switches user to reach ME's bus. */
const DAEMON = ME + 1;

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A runtime root with ME's directory, and in it a real listening socket `bus` unless told not to. */
async function runtimeRoot(withBus = true): Promise<{ root: string; dir: string }> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cahC-notify-'));
  const dir = path.join(root, String(ME));
  fs.mkdirSync(dir);
  if (withBus) {
    const server = net.createServer();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(path.join(dir, 'bus'), resolve));
  }
  return { root, dir };
}

const NOTIFY_SEND = `notify-send --app-name=client-agent --expire-time=10000 -- "Boundary credentials for db.corp" ${JSON.stringify(NOTICE.body.replace('\\', '\\\\'))}`;
const GDBUS =
  'gdbus call --session --dest=org.freedesktop.Notifications --object-path=/org/freedesktop/Notifications --method=org.freedesktop.Notifications.Notify ' +
  [
    '"\\"client-agent\\""',
    '0',
    '"\\"\\""',
    '"\\"Boundary credentials for db.corp\\""',
    JSON.stringify('"Say \\"hi\\" \\\\ bye"'),
    '"@as []"',
    '"@a{sv} {}"',
    '10000',
  ].join(' ');

describe('LinuxNotifier', () => {
  it('runs notify-send as the user, on the session bus in their runtime directory', async () => {
    const { root, dir } = await runtimeRoot();
    const runner = new FakeRunner();
    const notifier = new LinuxNotifier({ runner, runtimeRoot: root, selfUid: DAEMON });
    expect(await notifier.notify(ME, NOTICE)).toBe('sent');
    expect(runner.calls).toEqual([NOTIFY_SEND]);
    expect(runner.options[0]).toMatchObject({
      uid: ME,
      gid: MY_GID,
      env: { DBUS_SESSION_BUS_ADDRESS: `unix:path=${dir}/bus`, XDG_RUNTIME_DIR: dir },
    });
    expect(Object.keys(runner.options[0]?.env ?? {})).toHaveLength(2);
  });

  it('falls back to gdbus calling Notify, with its arguments as GVariant strings', async () => {
    const { root } = await runtimeRoot();
    const runner = new FakeRunner().fail(/^notify-send /, 'notify-send: not found', 127);
    const notifier = new LinuxNotifier({ runner, runtimeRoot: root, selfUid: DAEMON });
    expect(await notifier.notify(ME, NOTICE)).toBe('sent');
    expect(runner.calls).toEqual([NOTIFY_SEND, GDBUS]);
    expect(runner.options[1]).toMatchObject({ uid: ME, gid: MY_GID });
  });

  it('throws a PlatformError naming both failures when neither command shows it', async () => {
    const { root } = await runtimeRoot();
    const runner = new FakeRunner()
      .fail(/^notify-send /, 'no notification server')
      .fail(/^gdbus /, 'ServiceUnknown');
    const notifier = new LinuxNotifier({ runner, runtimeRoot: root, selfUid: DAEMON });
    const err = await rejection(notifier.notify(ME, NOTICE), PlatformError);
    expect(err.code).toBe('platform.notify_failed');
    expect(err.message).toContain('no notification server');
    expect(err.message).toContain('ServiceUnknown');
    expect(err.hint).toContain('libnotify-bin');
  });

  it('runs nothing for a user without a session bus, or with one they do not own', async () => {
    const runner = new FakeRunner();
    const bare = await runtimeRoot(false);
    const other = await runtimeRoot();
    fs.writeFileSync(path.join(bare.dir, 'bus'), 'not a socket');
    expect(
      await new LinuxNotifier({ runner, runtimeRoot: bare.root, selfUid: DAEMON }).notify(
        ME,
        NOTICE,
      ),
    ).toBe('no-session');
    // ME's directory seen as another uid's: the uid does not own it.
    fs.renameSync(other.dir, path.join(other.root, String(ME + 7)));
    expect(
      await new LinuxNotifier({ runner, runtimeRoot: other.root, selfUid: DAEMON }).notify(
        ME + 7,
        NOTICE,
      ),
    ).toBe('no-session');
    expect(
      await new LinuxNotifier({ runner, runtimeRoot: '/nonexistent', selfUid: DAEMON }).notify(
        ME,
        NOTICE,
      ),
    ).toBe('no-session');
    expect(runner.calls).toEqual([]);
  });

  it('uses its own session bus for its own uid, without switching user (the dev profile)', async () => {
    const runner = new FakeRunner();
    const notifier = new LinuxNotifier({
      runner,
      runtimeRoot: '/nonexistent',
      selfUid: ME,
      selfBusAddress: 'unix:abstract=/tmp/dbus-x',
    });
    expect(await notifier.notify(ME, NOTICE)).toBe('sent');
    expect(runner.calls).toEqual([NOTIFY_SEND]);
    expect(runner.options[0]?.uid).toBeUndefined();
    expect(runner.options[0]?.env).toEqual({
      DBUS_SESSION_BUS_ADDRESS: 'unix:abstract=/tmp/dbus-x',
    });
  });
});
