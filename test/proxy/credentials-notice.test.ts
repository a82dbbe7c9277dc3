/**
 * The credentials notice end to end: a session through the stand-in to a target with brokered
 * credentials, connections through the proxy, and the notice arriving once, as a real
 * org.freedesktop.Notifications.Notify on a private session bus of the current user.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ExecFileRunner, LinuxNotifier } from '../../src/platform/index.js';
import {
  notificationBusSkipReason,
  startNotificationBus,
  type NotificationBus,
} from '../helpers/notification-bus.js';
import { ALIAS, echoThrough, startProxyBed, UID, type ProxyBed } from '../helpers/proxy-bed.js';

const reason = notificationBusSkipReason();
if (reason !== undefined) console.log(`skipping the proxy credentials-notice tests: ${reason}`);

const CREDENTIALS = { username: 'echo-admin-41', password: 'Vq7-secret-pw' };

let bed: ProxyBed | undefined;
let bus: NotificationBus | undefined;
afterEach(async () => {
  await bed?.close();
  await bus?.close();
  bed = undefined;
  bus = undefined;
});

async function start(withCredentials: boolean): Promise<{ bed: ProxyBed; bus: NotificationBus }> {
  bus = await startNotificationBus({ currentUser: true });
  const notifier = new LinuxNotifier({
    runner: new ExecFileRunner(),
    runtimeRoot: bus.runtimeRoot,
    selfUid: -1,
  });
  bed = await startProxyBed({
    notifier,
    ...(withCredentials ? { credentials: CREDENTIALS } : {}),
  });
  return { bed, bus };
}

describe.skipIf(reason !== undefined)('credentials notice through the proxy', () => {
  it('tells the token owner once per session, at the first connection, naming the alias', async () => {
    const { bed, bus } = await start(true);
    const port = await bed.prepare();
    // Authorized (as on the DNS lookup) but no connection yet: not established, no notice.
    await expect(bus.waitFor(1, 300)).rejects.toThrow('0 of 1');
    for (let i = 0; i < 3; i++) {
      expect(await echoThrough(await bed.connect(port), Buffer.from('hi'))).toEqual(
        Buffer.from('hi'),
      );
    }
    const [notice] = await bus.waitFor(1);
    expect(notice).toMatchObject({
      appName: 'client-agent',
      summary: `Boundary credentials for ${ALIAS}`,
      senderUid: UID,
    });
    expect(notice?.body).toContain(ALIAS);
    expect(notice?.body).toContain('client-agent sessions');
    // Once: the later connections of the same session send nothing more.
    await expect(bus.waitFor(2, 500)).rejects.toThrow('1 of 2');
    const everything = JSON.stringify(bus.received) + bed.logs.join('');
    expect(everything).not.toContain(CREDENTIALS.password);
    expect(JSON.stringify(bus.received)).not.toContain(CREDENTIALS.username);
    expect(bed.logs.join('')).toContain('Told the user the session has brokered credentials.');
  });

  it('sends nothing for a session without credentials', async () => {
    const { bed, bus } = await start(false);
    const port = await bed.prepare();
    expect(await echoThrough(await bed.connect(port), Buffer.from('x'))).toEqual(Buffer.from('x'));
    await expect(bus.waitFor(1, 500)).rejects.toThrow('0 of 1');
  });
});
