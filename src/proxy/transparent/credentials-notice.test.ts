import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { SessionAuthorizationData } from '../../boundary/index.js';
import { systemClock } from '../../lib/index.js';
import { FakeRunner } from '../../../test/platform/fake-runner.js';
import { LinuxNotifier } from '../../platform/index.js';
import { CredentialsNotices, credentialsNotice } from './credentials-notice.js';
import type { HeldSession } from './session-manager.js';

const USERNAME = 'dbadmin-7f3a';
const PASSWORD = 'pw-Zq81!x';
const TOKEN = 'at_authorization_token_value_9k2';
const ME = os.userInfo().uid;

function session(alias: string, withCredentials: boolean): HeldSession {
  return {
    uid: ME,
    alias,
    explicit: false,
    authorization: {
      session_id: 's_1234567890',
      authorization_token: TOKEN,
      ...(withCredentials
        ? {
            credentials: [
              {
                credential_source: { id: 'clvl_1', credential_type: 'username_password' },
                secret: { raw: Buffer.from(`${USERNAME}:${PASSWORD}`).toString('base64') },
                credential: { username: USERNAME, password: PASSWORD },
              },
            ],
          }
        : {}),
    },
    data: { sessionId: 's_1234567890' } as SessionAuthorizationData,
    tofu: 'tofu-secret-1234',
    port: 15432,
    createdAt: 0,
    expiresAt: 1,
    connectionsLeft: -1,
    connections: 1,
    bytesUp: 0,
    bytesDown: 0,
    ended: undefined,
  };
}

const server = net.createServer();
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cahC-notice-'));
fs.mkdirSync(path.join(root, String(ME)));
await new Promise<void>((resolve) => server.listen(path.join(root, String(ME), 'bus'), resolve));
afterAll(() => new Promise((resolve) => server.close(resolve)));

function setup(runner = new FakeRunner()) {
  const logs: string[] = [];
  const log = pino(
    { level: 'debug' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        logs.push(chunk.toString());
        done();
      },
    }),
  );
  const notifier = new LinuxNotifier({ runner, runtimeRoot: root, selfUid: ME + 1 });
  return { runner, logs, notices: new CredentialsNotices({ notifier, clock: systemClock, log }) };
}

describe('credentialsNotice', () => {
  it('names the alias and the command that shows the credentials', () => {
    expect(credentialsNotice('pg.boundary.dev')).toEqual({
      title: 'Boundary credentials for pg.boundary.dev',
      body: 'Your session to pg.boundary.dev has brokered credentials. Run "client-agent sessions --show-credentials" to see them.',
    });
  });

  it('refuses an alias that is not a DNS name', () => {
    for (const alias of ['a" & do shell script "id', "x'; rm -rf /", 'a\nb.corp', '', '$(id)']) {
      expect(credentialsNotice(alias)).toBeUndefined();
    }
  });
});

describe('CredentialsNotices', () => {
  it('tells the owner of a session with credentials, and no secret reaches the command', async () => {
    const { runner, notices } = setup();
    await notices.send(session('db.corp', true));
    expect(runner.calls).toHaveLength(1);
    const sent = JSON.stringify({ calls: runner.calls, options: runner.options });
    expect(sent).toContain('db.corp');
    expect(sent).toContain('client-agent sessions');
    for (const secret of [USERNAME, PASSWORD, TOKEN, 'tofu-secret-1234']) {
      expect(sent).not.toContain(secret);
    }
  });

  it('sends nothing for a session without credentials', async () => {
    const { runner, notices } = setup();
    notices.established(session('db.corp', false));
    await new Promise((r) => setTimeout(r, 20));
    expect(runner.calls).toEqual([]);
  });

  it('logs a failure at warn once per user, then at debug, and never throws', async () => {
    const runner = new FakeRunner().fail(/^notify-send /, 'boom').fail(/^gdbus /, 'boom too');
    const { logs, notices } = setup(runner);
    await notices.send(session('db.corp', true));
    await notices.send(session('db.corp', true));
    const failures = logs
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .filter((l) => l.msg === 'Could not show the credentials notice.');
    expect(failures.map((l) => l.level)).toEqual([40, 20]);
    expect(logs.join('')).not.toContain(PASSWORD);
  });
});
