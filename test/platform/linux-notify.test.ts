/**
 * The Linux notifier against a real session bus with a real notification service on it: the
 * notice arrives as org.freedesktop.Notifications.Notify, from notify-send and from gdbus.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ExecFileRunner,
  type CommandRunner,
  LinuxNotifier,
  commandFailed,
} from '../../src/platform/index.js';
import {
  notificationBusSkipReason,
  startNotificationBus,
  type NotificationBus,
} from '../helpers/notification-bus.js';

const reason = notificationBusSkipReason();
if (reason !== undefined) console.log(`skipping the desktop notification tests: ${reason}`);

const NOTICE = { title: 'Boundary credentials for pg.corp', body: 'Run "client-agent sessions".' };

/** The real runner, except that notify-send "is not installed": the gdbus path runs. */
const withoutNotifySend = (inner: CommandRunner): CommandRunner => ({
  run: (cmd, args, options) =>
    cmd === 'notify-send'
      ? Promise.reject(
          commandFailed(
            'notify-send',
            null,
            '',
            Object.assign(new Error('spawn'), { code: 'ENOENT' }),
          ),
        )
      : inner.run(cmd, args, options),
});

describe.skipIf(reason !== undefined)('LinuxNotifier on a real session bus', () => {
  let bus: NotificationBus;
  beforeEach(async () => {
    bus = await startNotificationBus();
  });
  afterEach(async () => {
    await bus.close();
  });

  // The daemon is never the bus owner here (as root the bus is nobody's): the user is switched.
  const notifier = (runner: CommandRunner) =>
    new LinuxNotifier({ runner, runtimeRoot: bus.runtimeRoot, selfUid: -1 });

  it('delivers the notice with notify-send, as the bus owner', async () => {
    expect(await notifier(new ExecFileRunner()).notify(bus.uid, NOTICE)).toBe('sent');
    expect(await bus.waitFor(1)).toEqual([
      {
        appName: 'client-agent',
        summary: NOTICE.title,
        body: NOTICE.body,
        expireMs: 10_000,
        senderUid: bus.uid,
      },
    ]);
  });

  it('delivers the same notice with gdbus where notify-send is missing', async () => {
    const runner = withoutNotifySend(new ExecFileRunner());
    expect(await notifier(runner).notify(bus.uid, NOTICE)).toBe('sent');
    expect(await bus.waitFor(1)).toEqual([
      {
        appName: 'client-agent',
        summary: NOTICE.title,
        body: NOTICE.body,
        expireMs: 10_000,
        senderUid: bus.uid,
      },
    ]);
  });

  it('sends nothing to a user without a session bus', async () => {
    expect(await notifier(new ExecFileRunner()).notify(bus.uid + 1, NOTICE)).toBe('no-session');
    await expect(bus.waitFor(1, 300)).rejects.toThrow('0 of 1 notifications');
  });
});
