/**
 * `client-agent connect` given something it cannot use: each is one error line and its fix,
 * exit 1 (2 for a wrong command line), and no session is left behind.
 */
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ControllerClient } from '../../src/boundary/index.js';
import {
  ECHO,
  echo,
  LIMITED,
  READ_ONLY,
  startConnectBed,
  type ConnectBed,
} from '../helpers/connect-bed.js';
import { freePort } from '../helpers/free-port.js';

let bed: ConnectBed;
beforeEach(async () => {
  bed = await startConnectBed();
});
afterEach(async () => {
  await bed.close();
});

/** The error and hint lines, and that nothing else was said. */
function expectError(
  result: { code: number; out: string; err: string },
  code: number,
  error: RegExp,
  hint: RegExp,
): void {
  expect(result.code).toBe(code);
  expect(result.out).toBe('');
  const [first, second, ...rest] = result.err.trimEnd().split('\n');
  expect(first).toMatch(/^error: /);
  expect(first).toMatch(error);
  expect(second).toMatch(/^hint: /);
  expect(second).toMatch(hint);
  expect(rest).toEqual([]);
}

const sessionCount = () => bed.dev.devserver.sessions.all().length;

describe('client-agent connect refuses', () => {
  it('an alias the user does not have, or may not connect to', async () => {
    expectError(
      await bed.cli(['connect', 'nope.test']),
      1,
      /no alias nope\.test is known to your Boundary user/,
      /boundary aliases list/,
    );
    expectError(
      await bed.cli(['connect', '-target-id', 'ttcp_nope000001']),
      1,
      /no target ttcp_nope000001 is known/,
      /boundary targets list/,
    );
    expectError(
      await bed.cli(['connect', READ_ONLY.alias]),
      1,
      /your Boundary user may not connect to alias readonly\.test/,
      /actions=authorize-session/,
    );
    expect(sessionCount()).toBe(0);
  });

  it('an expired or malformed authorization token', async () => {
    const { token } = await bed.authorizeAtController(LIMITED.id);
    bed.clock.advance(61_000);
    expectError(
      await bed.cli(['connect', '-authz-token', token]),
      1,
      /session s_\w+ expired at \d{4}-/,
      /Authorize a new session/,
    );
    expectError(
      await bed.cli(['connect', '-authz-token', 'not-a-token']),
      1,
      /invalid session authorization token: it is not base58 text/,
      /authorize-session/,
    );
    expectError(
      await bed.cli(['connect', '-authz-token', token.slice(0, 40)]),
      1,
      /invalid session authorization token/,
      /copied whole/,
    );
    expectError(
      await bed.cli(['connect', '-authz-token', '-'], { stdin: '{"item": {}}' }),
      1,
      /the JSON has no authorization_token/,
      /authorize-session/,
    );
  });

  it('a listen port in use, before any session is authorized', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as net.AddressInfo;
    try {
      expectError(
        await bed.cli(['connect', ECHO.alias, '-listen-port', String(port)]),
        1,
        new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use`),
        /Choose another -listen-port, or leave it out/,
      );
      expect(sessionCount()).toBe(0);
    } finally {
      holder.close();
    }
  });

  it('a session the worker refuses, when a client connects', async () => {
    const { id, token } = await bed.authorizeAtController(ECHO.id);
    const client = new ControllerClient({ address: bed.dev.devserver.controller.address });
    try {
      const { token: auth } = await client.authenticate(
        bed.dev.devserver.directory.authMethodId,
        'admin',
        'password',
      );
      const session = await client.readSession(auth, id);
      await client.cancelSession(auth, id, session.version ?? 0);
    } finally {
      await client.close();
    }
    const cmd = bed.start(['connect', '-authz-token', token, '-listen-port', '0']);
    const [, port] = await cmd.until(/^ {2}Port: +(\d+)$/m);
    await expect(echo(Number(port), 'refused')).rejects.toThrow();
    const result = await cmd.done;
    expect(result.code).toBe(1);
    expect(result.err).toMatch(
      /^error: session credentials were not accepted, or session is unauthorized \(worker 127\.0\.0\.1:\d+\)\nhint: Authorize a new session/,
    );
  });

  it('while the agent is paused, and when it is not running', async () => {
    await bed.dev.agent.api.pause(bed.dev.uid);
    expectError(
      await bed.cli(['connect', ECHO.alias]),
      1,
      /the agent is paused/,
      /client-agent resume/,
    );
    await bed.dev.agent.api.resume(bed.dev.uid);
    const port = await freePort();
    expectError(
      await bed.cli(['connect', ECHO.alias, `-client-agent-port=${port}`]),
      1,
      /the client agent is not running/,
      /Start it/,
    );
    expect(sessionCount()).toBe(0);
  });

  it('an -exec program that does not exist, canceling the session', async () => {
    const cmd = bed.start([
      'connect',
      ECHO.alias,
      '-listen-port',
      '0',
      '-exec',
      'no-such-program-x',
    ]);
    const result = await cmd.done;
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/^error: cannot run "no-such-program-x": no such program\nhint: /);
    const id = /Session ID: +(s_\w+)/.exec(result.out)?.[1] ?? '';
    expect(bed.dev.devserver.sessions.get(id)?.terminationReason).toBe('canceled');
  });

  it.each([
    [[], /say what to connect to/],
    [[ECHO.alias, '-target-id', ECHO.id], /give only one of -target-id, an alias argument/],
    [['-alias', ECHO.alias, '-authz-token', 'x'], /give only one of -alias, -authz-token/],
    [['-target-id', 'echo.test'], /is not a target id/],
    [['-alias', 'ttcp_echo000001'], /is not an alias/],
    [[ECHO.alias, 'extra'], /connect takes one alias/],
    [[ECHO.alias, '-listen-addr', 'localhost'], /-listen-addr "localhost" is not an IP address/],
    [[ECHO.alias, '-listen-port', '70000'], /-listen-port "70000" must be a port number/],
    [[ECHO.alias, '--', 'arg'], /arguments after -- are for a program/],
    [[ECHO.alias, '-format=yaml'], /-format "yaml" must be table or json/],
  ])('a wrong command line %j (exit 2)', async (args, message) => {
    const result = await bed.cli(['connect', ...args]);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(message);
    expect(sessionCount()).toBe(0);
  });
});
