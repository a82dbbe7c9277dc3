/**
 * Linux desktop notifications: `notify-send` (libnotify-bin) run as the user, on their session
 * bus, with `gdbus` (libglib2.0-bin) calling org.freedesktop.Notifications.Notify where
 * notify-send fails. The session bus is the one systemd-logind's user runtime directory holds
 * (`/run/user/UID/bus`, owned by the user); a user without one has no desktop to show it on.
 */
import type { Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { CommandRunner, RunOptions } from '../command-runner.js';
import { PlatformError } from '../errors.js';
import { doubleQuoted } from '../quoted-string.js';
import type { NoticeResult, UserNotice, UserNotifier } from '../platform.js';

export interface LinuxNotifierOptions {
  readonly runner: CommandRunner;
  /** Where the users' runtime directories are; default `/run/user`. */
  readonly runtimeRoot?: string | undefined;
  /** The daemon's own uid (default process.getuid()): commands for it run without switching user. */
  readonly selfUid?: number | undefined;
  /**
   * The daemon's own session bus (default $DBUS_SESSION_BUS_ADDRESS), used for `selfUid` (the
   * dev profile runs as the user, whose bus may live elsewhere).
   */
  readonly selfBusAddress?: string | undefined;
}

const APP_NAME = 'client-agent';
/** How long the notification shows, in ms (Notify's expire_timeout; notify-send's --expire-time). */
const EXPIRE_MS = 10_000;

/** Where a user's session bus is, and who to run as to reach it. */
interface Bus {
  readonly address: string;
  readonly run: RunOptions;
}

export class LinuxNotifier implements UserNotifier {
  readonly #o: LinuxNotifierOptions;

  constructor(options: LinuxNotifierOptions) {
    this.#o = options;
  }

  async notify(uid: number, notice: UserNotice, signal?: AbortSignal): Promise<NoticeResult> {
    const bus = await this.#busOf(uid);
    if (bus === undefined) return 'no-session';
    const options = { ...bus.run, signal, timeoutMs: 5_000 };
    try {
      await this.#o.runner.run('notify-send', notifySendArgs(notice), options);
      return 'sent';
    } catch (first) {
      try {
        await this.#o.runner.run('gdbus', gdbusArgs(notice), options);
        return 'sent';
      } catch (second) {
        throw new PlatformError(
          'platform.notify_failed',
          `could not show a notification on ${bus.address} for uid ${uid}: ${(first as Error).message}; then ${(second as Error).message}`,
          {
            cause: second,
            hint: 'Install libnotify-bin (notify-send) or libglib2.0-bin (gdbus), and check that a notification service runs in the user’s desktop session.',
          },
        );
      }
    }
  }

  async #busOf(uid: number): Promise<Bus | undefined> {
    const selfUid = this.#o.selfUid ?? process.getuid?.();
    const selfBus = this.#o.selfBusAddress ?? process.env.DBUS_SESSION_BUS_ADDRESS;
    if (uid === selfUid && selfBus !== undefined && selfBus !== '') {
      return { address: selfBus, run: { env: { DBUS_SESSION_BUS_ADDRESS: selfBus } } };
    }
    const dir = path.join(this.#o.runtimeRoot ?? '/run/user', String(uid));
    const socket = path.join(dir, 'bus');
    const [dirStat, socketStat] = await Promise.all([statOf(dir), statOf(socket)]);
    // Only a bus the user owns: another user's socket would carry the notice to the wrong desktop.
    if (dirStat?.isDirectory() !== true || dirStat.uid !== uid) return undefined;
    if (socketStat?.isSocket() !== true || socketStat.uid !== uid) return undefined;
    const address = `unix:path=${socket}`;
    const env = { DBUS_SESSION_BUS_ADDRESS: address, XDG_RUNTIME_DIR: dir };
    return {
      address,
      run: uid === selfUid ? { env } : { uid, gid: dirStat.gid, env },
    };
  }
}

async function statOf(file: string): Promise<Stats | undefined> {
  try {
    return await fs.stat(file);
  } catch {
    return undefined;
  }
}

/** notify-send reads C escapes in the body (g_strcompress), so its backslashes are doubled. */
export function notifySendArgs(notice: UserNotice): string[] {
  return [
    `--app-name=${APP_NAME}`,
    `--expire-time=${EXPIRE_MS}`,
    '--',
    notice.title,
    notice.body.replaceAll('\\', '\\\\'),
  ];
}

/**
 * Notify(app_name s, replaces_id u, app_icon s, summary s, body s, actions as, hints a{sv},
 * expire_timeout i): gdbus parses each argument as GVariant text, so strings are quoted.
 */
export function gdbusArgs(notice: UserNotice): string[] {
  return [
    'call',
    '--session',
    '--dest=org.freedesktop.Notifications',
    '--object-path=/org/freedesktop/Notifications',
    '--method=org.freedesktop.Notifications.Notify',
    doubleQuoted(APP_NAME),
    '0',
    doubleQuoted(''),
    doubleQuoted(notice.title),
    doubleQuoted(notice.body),
    '@as []',
    '@a{sv} {}',
    String(EXPIRE_MS),
  ];
}
