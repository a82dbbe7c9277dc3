/**
 * macOS notifications: `osascript -e 'display notification …'` in the user's GUI session. The
 * daemon (root, in the system domain) enters the user's login session with `launchctl asuser UID`
 * and becomes the user with `sudo -u #UID`: Notification Center shows a notice to the user who
 * posts it, in the session it is posted from. Only the user at the console gets one: a user with
 * no GUI session has nowhere to show it.
 */
import type { CommandRunner } from '../command-runner.js';
import { doubleQuoted } from '../quoted-string.js';
import type { NoticeResult, UserNotice, UserNotifier } from '../platform.js';

export interface DarwinNotifierOptions {
  readonly runner: CommandRunner;
  /** The daemon's own uid (default process.getuid()): the dev profile posts as itself. */
  readonly selfUid?: number | undefined;
}

export class DarwinNotifier implements UserNotifier {
  readonly #o: DarwinNotifierOptions;

  constructor(options: DarwinNotifierOptions) {
    this.#o = options;
  }

  async notify(uid: number, notice: UserNotice, signal?: AbortSignal): Promise<NoticeResult> {
    const run = { signal, timeoutMs: 5_000 };
    // The owner of /dev/console is the user logged in at the screen (root at the login window).
    const { stdout } = await this.#o.runner.run('stat', ['-f', '%u', '/dev/console'], run);
    if (stdout.trim() !== String(uid)) return 'no-session';
    const script = ['-e', displayNotification(notice)];
    if (uid === (this.#o.selfUid ?? process.getuid?.())) {
      await this.#o.runner.run('osascript', script, run);
    } else {
      await this.#o.runner.run(
        'launchctl',
        ['asuser', String(uid), 'sudo', '-u', `#${uid}`, 'osascript', ...script],
        run,
      );
    }
    return 'sent';
  }
}

/** The AppleScript; its strings quoted as AppleScript string literals (backslash, quote escaped). */
export function displayNotification(notice: UserNotice): string {
  return `display notification ${doubleQuoted(notice.body)} with title ${doubleQuoted(notice.title)}`;
}
