/** The agent commands run in-process against a ControlServer on port 0 backed by a fake agent. */
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/index.js';
import { ManualClock } from '../../src/lib/index.js';
import { ControlServer } from '../../src/control/index.js';
import { captureIo } from '../helpers/cli-io.js';
import { ALICE, startStandIn, type StandIn } from '../helpers/standin.js';
import { dbSession, FakeAgent, TOKEN } from './fake-agent.js';
import { startControlServer } from './start-server.js';

const NOW = Date.parse('2026-11-21T09:00:00Z');
const uid = process.getuid?.() ?? 0;

let agent: FakeAgent;
let server: ControlServer;
let standIn: StandIn;

beforeAll(async () => {
  agent = new FakeAgent();
  server = await startControlServer(agent, { selfUid: uid });
  standIn = await startStandIn();
});
afterAll(async () => {
  await server.close();
  await standIn.close();
});
afterEach(() => {
  agent.tokens.clear();
  agent.sessionsByUid.clear();
  agent.errors.splice(0);
  agent.state = 'running';
  agent.verify = undefined;
});

async function cli(
  args: string[],
  options: { env?: Record<string, string>; stdin?: string; port?: number } = {},
) {
  const io = captureIo({
    env: {
      BOUNDARY_CLIENT_AGENT_LISTENING_PORT: String(options.port ?? server.port),
      ...options.env,
    },
    clock: new ManualClock(NOW),
    ...(options.stdin === undefined ? {} : { stdin: Readable.from([options.stdin]) }),
  });
  const code = await run(args, io);
  return { code, out: io.out(), err: io.err() };
}

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const probe = await startControlServer(agent, { hosts: ['127.0.0.1'] });
  const port = probe.port;
  await probe.close();
  return port;
}

describe('client-agent status', () => {
  it('prints a table with the token, state, version and recent errors', async () => {
    agent.tokens.set(uid, { boundaryAddr: 'http://127.0.0.1:9200', token: TOKEN });
    agent.errors.push('authorize db.corp: 403 PermissionDenied');
    const { code, out, err } = await cli(['status']);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(/^ {2}Address: +http:\/\/127\.0\.0\.1:9200$/m);
    expect(out).toMatch(/^ {2}Auth Token Expiration: +7d0h$/m);
    expect(out).toMatch(/^ {2}Auth Token Id: +at_1234567890$/m);
    expect(out).toMatch(/^ {2}Status: +running$/m);
    expect(out).toMatch(/^ {2}Version: +0\.1\.0$/m);
    expect(out).toContain('Recent errors:\n    authorize db.corp: 403 PermissionDenied');
    expect(out).not.toContain(TOKEN);
  });

  it.each([['-format=json'], ['--format', 'json'], ['--json'], ['-format', 'json']])(
    'prints the Boundary Desktop JSON shape with %s',
    async (...flags) => {
      const { code, out } = await cli(['status', ...flags]);
      expect(code).toBe(0);
      const parsed = JSON.parse(out) as { status_code: number; item: Record<string, unknown> };
      expect(parsed.status_code).toBe(200);
      expect(parsed.item).toMatchObject({ status: 'running', version: '0.1.0', errors: [] });
    },
  );

  it('takes the port from -client-agent-port over the environment', async () => {
    const dead = await deadPort();
    const { code } = await cli(['status', `-client-agent-port=${server.port}`], { port: dead });
    expect(code).toBe(0);
    const bad = await cli(['status', '-client-agent-port', 'abc']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('-client-agent-port "abc"');
  });

  it('refuses an unknown format (exit 2)', async () => {
    const { code, err } = await cli(['status', '-format=yaml']);
    expect(code).toBe(2);
    expect(err).toContain('-format "yaml" must be table or json');
  });
});

describe('when the agent is not running', () => {
  it.each([
    [['status']],
    [['pause']],
    [['resume']],
    [['sessions', '--json']],
    [['add-token', '-addr', 'http://127.0.0.1:9200']],
    [
      [
        'login',
        '-addr',
        'http://127.0.0.1:9200',
        '-auth-method-id',
        'ampw_1234567890',
        '-login-name',
        'alice',
      ],
    ],
  ])('%j prints the error and how to start the agent (exit 1)', async (args) => {
    const port = await deadPort();
    const { code, out, err } = await cli(args, {
      port,
      stdin: `${TOKEN}\n`,
      env: { BOUNDARY_TOKEN: TOKEN },
    });
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toBe(
      `error: the client agent is not running on port ${port} (nothing listens on 127.0.0.1:${port})\n` +
        'hint: Start it with "sudo client-agent daemon" (or "client-agent dev" / "npm start" for the demo), ' +
        'or give the port it uses with -client-agent-port or BOUNDARY_CLIENT_AGENT_LISTENING_PORT.\n',
    );
  });
});

describe('client-agent pause and resume', () => {
  it('pauses and resumes, in words and in JSON', async () => {
    const paused = await cli(['pause']);
    expect(paused.code).toBe(0);
    expect(paused.out).toMatch(/^The agent is paused/);
    expect(paused.out).toMatch(/^ {2}Status: +paused$/m);
    const resumed = await cli(['resume', '-format=json']);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.out)).toMatchObject({
      status_code: 200,
      item: { status: 'running' },
    });
  });

  it('says why when the caller may not pause (exit 1)', async () => {
    const asUser = await startControlServer(agent, {
      peers: { uidOf: () => Promise.resolve(1000) },
    });
    try {
      const { code, err } = await cli(['pause'], { port: asUser.port });
      expect(code).toBe(1);
      expect(err).toContain(
        'error: the agent refused POST /v1/pause: Only a user who has given the agent a token may pause it.',
      );
      expect(err).toContain('hint: Give the agent your Boundary token first');
      expect(agent.state).toBe('running');
    } finally {
      await asUser.close();
    }
  });
});

describe('client-agent sessions', () => {
  it('lists the caller’s sessions with secrets masked', async () => {
    agent.sessionsByUid.set(uid, [dbSession()]);
    const { code, out } = await cli(['sessions']);
    expect(code).toBe(0);
    const [header, row] = out.split('\n');
    expect(header).toMatch(
      /^ALIAS +SESSION ID +CREATED +EXPIRES IN +CONNECTIONS +BYTES UP\/DOWN +CREDENTIALS$/,
    );
    expect(row).toMatch(
      /^db\.corp +s_db00000001 +2026-11-21T09:00:00Z +1h0m +1 +2\.0KiB\/100B +username_password \(app\)$/,
    );
    expect(out).toContain('add --show-credentials');
    expect(out).not.toContain('s3cr3t');
  });

  it('shows secrets only with --show-credentials', async () => {
    agent.sessionsByUid.set(uid, [dbSession()]);
    const shown = await cli(['sessions', '--show-credentials']);
    expect(shown.out).toContain(
      'db.corp (username_password):\n  username: app\n  password: s3cr3t',
    );
    const masked = await cli(['sessions', '-format=json']);
    const parsed = JSON.parse(masked.out) as { status_code: number; items: unknown[] };
    expect(parsed.status_code).toBe(200);
    expect(parsed.items).toHaveLength(1);
    expect(masked.out).not.toContain('s3cr3t');
    expect(masked.out).toContain('"password": "********"');
    const full = await cli(['sessions', '--json', '--show-credentials']);
    expect(JSON.parse(full.out)).toEqual({ status_code: 200, items: [dbSession()] });
  });

  it('says so when there are none', async () => {
    expect((await cli(['sessions'])).out).toBe('No sessions.\n');
    expect(JSON.parse((await cli(['sessions', '--json'])).out)).toEqual({
      status_code: 200,
      items: [],
    });
  });
});

describe('client-agent add-token', () => {
  const addr = () => standIn.controller.address;

  it('reads the token from stdin, trimmed, and hands it to the agent for this uid', async () => {
    const { code, out, err } = await cli(['add-token', '-addr', 'https://boundary.corp'], {
      stdin: `  ${TOKEN}\n`,
    });
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toBe('The agent has your token at_1234567890 for https://boundary.corp.\n');
    expect(agent.tokens.get(uid)).toEqual({ boundaryAddr: 'https://boundary.corp', token: TOKEN });
  });

  it('takes BOUNDARY_TOKEN and BOUNDARY_ADDR from the environment', async () => {
    const { code, out } = await cli(['add-token', '--json'], {
      env: { BOUNDARY_TOKEN: TOKEN, BOUNDARY_ADDR: 'http://127.0.0.1:9200' },
    });
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({
      status_code: 200,
      item: { boundary_addr: 'http://127.0.0.1:9200', auth_token_id: 'at_1234567890' },
    });
  });

  it.each([
    ['no address', [], TOKEN, 'the controller address is required'],
    ['a bad address', ['-addr', 'boundary.corp'], TOKEN, 'is not an http or https URL'],
    ['no token', ['-addr', 'https://b.corp'], '', 'no token given'],
    [
      'a malformed token',
      ['-addr', 'https://b.corp'],
      'not-a-token',
      'is not a Boundary auth token',
    ],
  ])('refuses %s (exit 2)', async (_name, args, stdin, message) => {
    const { code, err } = await cli(['add-token', ...args], { stdin });
    expect(code).toBe(2);
    expect(err).toContain(message);
    expect(agent.tokens.size).toBe(0);
  });

  it('refuses an http:// controller off this machine (exit 1) unless --allow-plain-http', async () => {
    const refused = await cli(['add-token', '-addr', 'http://192.0.2.1:9200'], { stdin: TOKEN });
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('over plain HTTP');
    expect(refused.err).toContain('--allow-plain-http');
    expect(agent.tokens.size).toBe(0);
    const allowed = await cli(
      ['add-token', '-addr', 'http://192.0.2.1:9200', '--allow-plain-http'],
      {
        stdin: TOKEN,
      },
    );
    expect(allowed.code).toBe(0);
    expect(agent.lastAddOptions).toEqual({ allowPlainHttp: true, waitForAliases: true });
    expect(agent.tokens.get(uid)?.boundaryAddr).toBe('http://192.0.2.1:9200');
  });

  it('reports the controller refusing the token (exit 1), without printing it', async () => {
    agent.verify = async (_addr, token) => {
      await standIn.client.readAuthToken(token);
    };
    const { code, err } = await cli(['add-token', '-addr', addr()], { stdin: TOKEN });
    expect(code).toBe(1);
    expect(err).toMatch(/^error: the agent refused POST \/v1\/tokens: .*401/m);
    expect(err).not.toContain(TOKEN);
  });
});

describe('client-agent login', () => {
  const base = () => [
    'login',
    '-addr',
    standIn.controller.address,
    '-auth-method-id',
    standIn.directory.authMethodId,
    '-login-name',
    ALICE.login,
  ];

  it('authenticates with the password from the environment and hands the token over', async () => {
    agent.verify = async (_addr, token) => {
      await standIn.client.readAuthToken(token);
    };
    const { code, out, err } = await cli(base(), {
      env: { BOUNDARY_AUTHENTICATE_PASSWORD_PASSWORD: ALICE.password },
    });
    expect(err).toBe('');
    expect(code).toBe(0);
    const held = agent.tokens.get(uid);
    expect(held?.boundaryAddr).toBe(standIn.controller.address);
    const id = held?.token.split('_').slice(0, 2).join('_') ?? '';
    expect(out).toMatch(new RegExp(`^ {2}Auth Token Id: +${id}$`, 'm'));
    expect(out).toMatch(/^ {2}User Id: +u_alice00001$/m);
    expect(out).toMatch(/^ {2}Expiration Time: +\S+ \(in /m);
    expect(out).not.toContain(held?.token ?? 'x');
  });

  it('reads the password from the first line of stdin and prints JSON', async () => {
    const { code, out } = await cli([...base(), '-format=json'], {
      stdin: `${ALICE.password}\nrest\n`,
    });
    expect(code).toBe(0);
    const parsed = JSON.parse(out) as { item: Record<string, string> };
    expect(parsed.item).toMatchObject({
      user_id: ALICE.id,
      boundary_addr: standIn.controller.address,
    });
    expect(Object.keys(parsed.item)).not.toContain('token');
    expect(agent.tokens.has(uid)).toBe(true);
  });

  it('refuses an http:// controller off this machine before asking for the password', async () => {
    const { code, err } = await cli(
      [
        'login',
        '-addr',
        'http://192.0.2.1:9200',
        '-auth-method-id',
        'ampw_1234567890',
        '-login-name',
        'a',
      ],
      { stdin: 'pw\n' },
    );
    expect(code).toBe(1);
    expect(err).toContain('refusing to send a Boundary token or password to http://192.0.2.1:9200');
    expect(err).not.toContain('Password');
  });

  it('warns on stderr when -tls-insecure turns certificate checks off', async () => {
    const { code, err } = await cli([...base(), '-tls-insecure'], {
      env: { BOUNDARY_AUTHENTICATE_PASSWORD_PASSWORD: ALICE.password },
    });
    expect(code).toBe(0);
    expect(err).toMatch(/^warning: -tls-insecure: the controller's certificate is not verified/m);
  });

  it('reports a wrong password (exit 1) and stores nothing', async () => {
    const { code, err } = await cli(base(), { stdin: 'wrong\n' });
    expect(code).toBe(1);
    expect(err).toContain('401');
    expect(agent.tokens.size).toBe(0);
  });

  it.each([
    [
      'a bad auth method id',
      [
        'login',
        '-addr',
        'http://127.0.0.1:9200',
        '-auth-method-id',
        'amoidc_1',
        '-login-name',
        'a',
      ],
    ],
    [
      'no login name',
      ['login', '-addr', 'http://127.0.0.1:9200', '-auth-method-id', 'ampw_1234567890'],
    ],
    ['no address', ['login', '-auth-method-id', 'ampw_1234567890', '-login-name', 'a']],
  ])('refuses %s (exit 2)', async (_name, args) => {
    expect((await cli(args, { stdin: 'pw\n' })).code).toBe(2);
  });
});
