/**
 * A private D-Bus session bus (dbus-daemon) in a runtime directory of a test's own, laid out as
 * systemd-logind does (`ROOT/UID/bus`, owned by the user), with a notification service on it: a
 * real D-Bus peer (@homebridge/dbus-native) that owns org.freedesktop.Notifications and answers
 * Notify, recording each call. As root the bus belongs to nobody (65534), so the notifier really
 * switches user to reach it; otherwise (or when asked) to the current user.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

export interface ReceivedNotice {
  readonly appName: string;
  readonly summary: string;
  readonly body: string;
  readonly expireMs: number;
  /** The uid of the process that called Notify (the bus's GetConnectionUnixUser). */
  readonly senderUid: number;
}

export interface NotificationBus {
  /** The bus owner's uid: the one to notify. */
  readonly uid: number;
  /** The runtime root to give the notifier (it finds `ROOT/UID/bus`). */
  readonly runtimeRoot: string;
  readonly address: string;
  /** Every Notify call received so far. */
  readonly received: ReceivedNotice[];
  /** Resolves once `count` notices came, rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedNotice[]>;
  close(): Promise<void>;
}

/** Why the real-bus tests cannot run here; in CI a missing program is a failure, not a skip. */
export function notificationBusSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  for (const [program, pkg] of [
    ['dbus-daemon', 'dbus-daemon'],
    ['notify-send', 'libnotify-bin'],
    ['gdbus', 'libglib2.0-bin'],
  ] as const) {
    try {
      execFileSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' });
    } catch {
      if (process.env.CI === 'true') {
        throw new Error(`${program} is missing in CI: install the Debian package ${pkg}`);
      }
      return `${program} is not installed (Debian package ${pkg})`;
    }
  }
  return undefined;
}

interface DbusNative {
  sessionBus(options: { busAddress: string }): DbusBus;
}
interface DbusBus {
  connection: { end(): void; on(event: 'error', fn: (err: Error) => void): void };
  requestName(name: string, flags: number, cb: (err: unknown, result: number) => void): void;
  exportInterface(obj: object, path: string, iface: object): void;
  getConnectionUnixUser(name: string, cb: (err: unknown, uid: number) => void): void;
}

/** RequestName's DBUS_NAME_FLAG_DO_NOT_QUEUE, and its "primary owner" answer. */
const DO_NOT_QUEUE = 4;
const PRIMARY_OWNER = 1;

/**
 * `currentUser`: the bus is the test process's own (the proxy tests, whose sessions belong to the
 * current user); by default nobody's when root.
 */
export async function startNotificationBus(
  options: { readonly currentUser?: boolean } = {},
): Promise<NotificationBus> {
  const asNobody = process.getuid?.() === 0 && options.currentUser !== true;
  const uid = asNobody ? 65534 : os.userInfo().uid;
  const gid = asNobody ? 65534 : os.userInfo().gid;
  const runtimeRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'cahC-runtime-'));
  fs.chmodSync(runtimeRoot, 0o755);
  const dir = path.join(runtimeRoot, String(uid));
  fs.mkdirSync(dir, { mode: 0o700 });
  if (asNobody) fs.chownSync(dir, uid, gid);
  const socket = path.join(dir, 'bus');
  // The session bus's own policy, and any user may connect: the receiver runs as the test (root).
  const config = path.join(runtimeRoot, 'bus.conf');
  fs.writeFileSync(
    config,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`,
  );
  const daemon = spawn('dbus-daemon', [`--config-file=${config}`, '--print-address', '--nofork'], {
    ...(asNobody ? { uid, gid } : {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const address = await firstLine(daemon);
  const require = createRequire(import.meta.url);
  const dbus = require('@homebridge/dbus-native') as DbusNative;
  const bus = dbus.sessionBus({ busAddress: address });
  const connectionErrors: Error[] = [];
  bus.connection.on('error', (err) => connectionErrors.push(err));
  const owned = await new Promise<number>((resolve, reject) => {
    bus.requestName('org.freedesktop.Notifications', DO_NOT_QUEUE, (err, result) => {
      if (err === null || err === undefined) resolve(result);
      else reject(new Error(`RequestName failed: ${JSON.stringify(err)}`));
    });
  });
  if (owned !== PRIMARY_OWNER)
    throw new Error(`did not get org.freedesktop.Notifications (${owned})`);
  const received: ReceivedNotice[] = [];
  const waiters: (() => void)[] = [];
  bus.exportInterface(
    {
      Notify(
        appName: string,
        _replaces: number,
        _icon: string,
        summary: string,
        body: string,
        _actions: unknown,
        _hints: unknown,
        expireMs: number,
        message: { sender: string },
      ): Promise<number> {
        return new Promise((resolve, reject) => {
          bus.getConnectionUnixUser(message.sender, (err, senderUid) => {
            if (err !== null && err !== undefined) {
              reject(new Error(JSON.stringify(err)));
              return;
            }
            received.push({ appName, summary, body, expireMs, senderUid });
            for (const wake of waiters.splice(0)) wake();
            resolve(received.length);
          });
        });
      },
      GetCapabilities: () => [['body']],
      GetServerInformation: () => ['cahC-test', 'client-agent tests', '1', '1.2'],
    },
    '/org/freedesktop/Notifications',
    {
      name: 'org.freedesktop.Notifications',
      methods: {
        Notify: ['susssasa{sv}i', 'u'],
        GetCapabilities: ['', 'as'],
        GetServerInformation: ['', 'ssss'],
      },
      signals: {},
    },
  );
  return {
    uid,
    runtimeRoot,
    address,
    received,
    async waitFor(count, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new Error(
            `${received.length} of ${count} notifications came within ${timeoutMs} ms${connectionErrors.length > 0 ? ` (bus: ${connectionErrors[0]?.message})` : ''}`,
          );
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return received.slice();
    },
    async close() {
      bus.connection.end();
      await new Promise<void>((resolve) => {
        if (daemon.exitCode !== null) resolve();
        else {
          daemon.once('exit', () => {
            resolve();
          });
          daemon.kill();
        }
      });
      fs.rmSync(runtimeRoot, { recursive: true, force: true });
    },
  };
}

/** The address dbus-daemon prints once it listens. */
function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(out.trim().split('\n')[0] ?? '');
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      reject(new Error(`dbus-daemon exited with ${code}: ${err.trim()}`));
    });
  });
}
