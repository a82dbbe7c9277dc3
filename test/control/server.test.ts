import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ControlServer } from '../../src/control/index.js';
import { RecentErrors } from '../../src/dns/index.js';
import { systemClock, AgentError } from '../../src/lib/index.js';
import { LinuxPeerCredentials, type PeerCredentials } from '../../src/platform/index.js';
import { dbSession, FakeAgent, TOKEN } from './fake-agent.js';
import { rawExchange, rawRequest } from './raw-request.js';
import { startControlServer } from './start-server.js';

const myUid = process.getuid?.() ?? -1;
const peers = new LinuxPeerCredentials();

let agent: FakeAgent;
let server: ControlServer;

async function startServer(
  options: { peers?: Pick<PeerCredentials, 'uidOf'>; selfUid?: number } = {},
): Promise<ControlServer> {
  return startControlServer(agent, { peers: options.peers ?? peers, selfUid: options.selfUid });
}

beforeAll(async () => {
  agent = new FakeAgent();
  server = await startServer({ selfUid: -1 });
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  agent.tokens.clear();
  agent.sessionsByUid.clear();
  agent.state = 'running';
  agent.failStatus = undefined;
  agent.verify = undefined;
  agent.recent = new RecentErrors({ clock: systemClock });
});

const get = (path: string, headers: Record<string, string> = {}) =>
  rawRequest(server.port, { path, headers });
const post = (path: string, body?: string, headers: Record<string, string> = {}) =>
  rawRequest(server.port, {
    method: 'POST',
    path,
    headers: { 'Content-Type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body }),
  });

describe('ControlServer routes', () => {
  it('listens on 127.0.0.1 and ::1 on one port', () => {
    expect(server.port).toBeGreaterThan(0);
    const addresses = server.addresses.map((a) => a.address);
    expect(addresses).toContain('127.0.0.1');
    for (const a of server.addresses) expect(a.port).toBe(server.port);
  });

  it('GET /v1/status has exactly the Boundary CLI fields and types', async () => {
    agent.tokens.set(myUid, { boundaryAddr: 'http://127.0.0.1:9200', token: TOKEN });
    agent.errors.splice(0, agent.errors.length, 'authorize db.corp: 403');
    const res = await get('/v1/status');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const body = res.json as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(
      [
        'auth_token_expiry',
        'auth_token_id',
        'boundary_addr',
        'errors',
        'status',
        'version',
        'warnings',
      ].sort(),
    );
    expect(body).toEqual({
      boundary_addr: 'http://127.0.0.1:9200',
      auth_token_id: 'at_1234567890',
      auth_token_expiry: '2026-11-28T09:00:00Z',
      version: '0.1.0',
      status: 'running',
      errors: ['authorize db.corp: 403'],
      warnings: [],
    });
    agent.errors.splice(0);
  });

  it('GET /v1/status shows root and the agent’s own user every error and its detail, others theirs', async () => {
    const other = myUid + 1000;
    agent.recent.record(new AgentError('dns.alias_prepare', 'could not make db.corp reachable'), {
      uids: [other],
    });
    agent.recent.record(new AgentError('dns.upstream', 'no upstream DNS server answered'), {
      detail: 'secret.example A',
    });
    const self = await startServer({ selfUid: myUid });
    try {
      const asSelf = await rawRequest(self.port, { path: '/v1/status' });
      expect((asSelf.json as { errors: string[] }).errors).toEqual([
        'no upstream DNS server answered (last: secret.example A)',
        'could not make db.corp reachable',
      ]);
    } finally {
      await self.close();
    }
    // the main server's agent user is no one: the caller is privileged only as root
    const errors = ((await get('/v1/status')).json as { errors: string[] }).errors;
    expect(errors).toEqual(
      myUid === 0
        ? [
            'no upstream DNS server answered (last: secret.example A)',
            'could not make db.corp reachable',
          ]
        : ['no upstream DNS server answered'],
    );
    agent.recent.record(
      new AgentError('proxy.connection', `cannot connect db.corp for uid ${myUid}`),
      {
        uids: [myUid],
      },
    );
    expect(((await get('/v1/status')).json as { errors: string[] }).errors[0]).toBe(
      `cannot connect db.corp for uid ${myUid}`,
    );
  });

  it('GET /v1/status/details gives our details', async () => {
    const res = await get('/v1/status/details');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ status: 'running', alias_count: 2, users_with_tokens: 0 });
  });

  it('GET /v1/sessions gives only the caller’s sessions, and {} when there are none', async () => {
    expect((await get('/v1/sessions')).json).toEqual({});
    agent.sessionsByUid.set(myUid, [dbSession()]);
    agent.sessionsByUid.set(myUid + 1000, [dbSession('s_other00001')]);
    const res = await get('/v1/sessions');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ items: [dbSession()] });
  });

  it('reads and cancels a session by id for its owner only; another uid’s is a 404', async () => {
    const record = { id: 's_mine000001', alias: 'db.corp', status: 'active' };
    agent.records.set('s_mine000001', { uid: myUid, record });
    agent.records.set('s_other00001', {
      uid: myUid + 1000,
      record: { ...record, id: 's_other00001' },
    });
    expect(await get('/v1/sessions/s_mine000001')).toMatchObject({ status: 200, json: record });
    const other = await get('/v1/sessions/s_other00001');
    expect(other.status).toBe(404);
    expect(other.json).toMatchObject({ kind: 'NotFound' });
    expect((await post('/v1/sessions/s_other00001:cancel', '{}')).status).toBe(404);
    const canceled = await post('/v1/sessions/s_mine000001:cancel');
    expect(canceled.json).toMatchObject({
      id: 's_mine000001',
      status: 'canceling',
      canceled: 'worker',
    });
    expect((await get('/v1/sessions/s_mine000001:cancel')).status).toBe(405);
    expect((await post('/v1/sessions/s_mine000001')).status).toBe(405);
    expect((await get('/v1/sessions/s_a/b')).status).toBe(404);
    agent.records.clear();
  });

  it('authorizes a session for the caller by alias or target id, with the path decoded', async () => {
    agent.tokens.set(myUid, { boundaryAddr: 'https://boundary.corp', token: TOKEN });
    const res = await post('/v1/targets/db.corp:authorize-session', '{}');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ session_id: 's_fake000001' });
    await post('/v1/targets/ttcp%5F1234567890:authorize-session');
    expect(agent.calls.slice(-2)).toEqual([
      `authorize:${myUid}:db.corp`,
      `authorize:${myUid}:ttcp_1234567890`,
    ]);
    expect((await get('/v1/targets/db.corp:authorize-session')).status).toBe(405);
    const bad = await post('/v1/targets/%E0%A4%A:authorize-session');
    expect(bad.status).toBe(400);
  });

  it('POST /v1/tokens stores the token for the caller’s uid and answers {}', async () => {
    const res = await post(
      '/v1/tokens',
      JSON.stringify({ boundary_addr: 'https://boundary.corp', token: TOKEN }),
    );
    expect(res.status).toBe(200);
    expect(res.json).toEqual({});
    expect(agent.tokens.get(myUid)).toEqual({
      boundaryAddr: 'https://boundary.corp',
      token: TOKEN,
    });
    expect(agent.tokens.size).toBe(1);
  });

  it('passes a controller error from addToken through with its status, never the token', async () => {
    const { ControllerError } = await import('../../src/boundary/index.js');
    agent.verify = () =>
      Promise.reject(
        new ControllerError('controller.api', `GET /v1/auth-tokens failed: 401 ${TOKEN}`, {
          status: 401,
          kind: 'Unauthenticated',
        }),
      );
    const res = await post(
      '/v1/tokens',
      JSON.stringify({ boundary_addr: 'https://boundary.corp', token: TOKEN }),
    );
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ kind: 'Unauthenticated' });
    expect(res.text).not.toContain(TOKEN);
    expect(agent.tokens.size).toBe(0);
  });

  it('pause and resume need a token (or root) and answer the new status', async () => {
    // The test runs as root on the CI machine; a server whose peers report uid 1000 shows the rule.
    const asUser = await startServer({
      peers: { uidOf: () => Promise.resolve(1000) },
    });
    try {
      const refused = await rawRequest(asUser.port, { method: 'POST', path: '/v1/pause' });
      expect(refused.status).toBe(403);
      expect(refused.json).toMatchObject({ kind: 'PermissionDenied' });
      expect(agent.state).toBe('running');
      agent.tokens.set(1000, { boundaryAddr: 'https://boundary.corp', token: TOKEN });
      const paused = await rawRequest(asUser.port, { method: 'POST', path: '/v1/pause' });
      expect(paused.status).toBe(200);
      expect(paused.json).toMatchObject({ status: 'paused', auth_token_id: 'at_1234567890' });
      const resumed = await rawRequest(asUser.port, { method: 'POST', path: '/v1/resume' });
      expect(resumed.json).toMatchObject({ status: 'running' });
      expect(agent.calls.slice(-2)).toEqual(['pause:1000', 'resume:1000']);
    } finally {
      await asUser.close();
    }
  });

  it('lets root and the agent’s own uid pause without a token', async () => {
    const asSelf = await startServer({
      peers: { uidOf: () => Promise.resolve(4242) },
      selfUid: 4242,
    });
    try {
      const res = await rawRequest(asSelf.port, { method: 'POST', path: '/v1/pause' });
      expect(res.status).toBe(200);
    } finally {
      await asSelf.close();
    }
    if (myUid === 0) expect((await post('/v1/resume')).status).toBe(200);
  });

  it('refuses a connection that maps to no local uid', async () => {
    const remote = await startServer({ peers: { uidOf: () => Promise.resolve(undefined) } });
    try {
      const res = await rawRequest(remote.port, { path: '/v1/status' });
      expect(res.status).toBe(403);
      expect(res.json).toMatchObject({ kind: 'PermissionDenied' });
    } finally {
      await remote.close();
    }
  });
});

describe('ControlServer errors', () => {
  const errorOf = (json: unknown) => json as { kind: string; message: string };

  it.each([
    ['unknown route', () => get('/v1/nope'), 404, 'NotFound'],
    ['wrong method', () => post('/v1/status'), 405, 'Unimplemented'],
    ['GET on a POST route', () => get('/v1/pause'), 405, 'Unimplemented'],
    ['bad JSON', () => post('/v1/tokens', '{"boundary_addr":'), 400, 'InvalidArgument'],
    ['a JSON array', () => post('/v1/tokens', '[]'), 400, 'InvalidArgument'],
    [
      'a body over 64 KiB',
      () => post('/v1/tokens', JSON.stringify({ pad: 'x'.repeat(70_000) })),
      413,
      'InvalidArgument',
    ],
    [
      'a non-JSON content type',
      () =>
        post('/v1/tokens', 'boundary_addr=x', {
          'Content-Type': 'application/x-www-form-urlencoded',
        }),
      415,
      'InvalidArgument',
    ],
  ])('%s → %i %s', async (_name, send, status, kind) => {
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toBe('application/json');
    const body = errorOf(res.json);
    expect(body.kind).toBe(kind);
    expect(typeof body.message).toBe('string');
    expect(body.message).not.toBe('');
  });

  it('names every bad field of a token request', async () => {
    const res = await post(
      '/v1/tokens',
      JSON.stringify({ boundary_addr: 'ftp://x', token: 'abc' }),
    );
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      kind: 'InvalidArgument',
      message: 'Error in provided request.',
      details: {
        request_fields: [
          { name: 'boundary_addr', description: 'Must be an http or https URL.' },
          { name: 'token', description: 'Must be a Boundary auth token (at_…_…).' },
        ],
      },
    });
    const missing = await post('/v1/tokens', '{}');
    expect(missing.status).toBe(400);
    expect(
      (
        missing.json as { details: { request_fields: { name: string }[] } }
      ).details.request_fields.map((f) => f.name),
    ).toEqual(['boundary_addr', 'token']);
  });

  it('passes allow_plain_http through to the agent, and names it when it is not a boolean', async () => {
    const ok = await post(
      '/v1/tokens',
      JSON.stringify({ boundary_addr: 'http://192.0.2.1', token: TOKEN, allow_plain_http: true }),
    );
    expect(ok.status).toBe(200);
    expect(agent.lastAddOptions).toEqual({ allowPlainHttp: true, waitForAliases: false });
    const bad = await post(
      '/v1/tokens',
      JSON.stringify({ boundary_addr: 'http://192.0.2.1', token: TOKEN, allow_plain_http: 'yes' }),
    );
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toContain('allow_plain_http');
  });

  it('answers 500 Internal without internals', async () => {
    agent.failStatus = new Error('secret internal detail');
    const res = await get('/v1/status');
    expect(res.status).toBe(500);
    expect(res.json).toEqual({ kind: 'Internal', message: 'Internal error.' });
  });
});

describe('ControlServer request checks', () => {
  it.each([
    ['a foreign Host', { Host: 'evil.example:PORT' }],
    ['a Host with another port', { Host: 'localhost:1' }],
    ['a Host without a port', { Host: 'localhost' }],
    ['an Origin', { Origin: 'http://localhost:PORT' }],
    ['Sec-Fetch-Site: cross-site', { 'Sec-Fetch-Site': 'cross-site' }],
    ['Sec-Fetch-Site: same-site', { 'Sec-Fetch-Site': 'same-site' }],
  ])('refuses a request with %s (403)', async (_name, headers) => {
    const withPort = Object.fromEntries(
      Object.entries(headers).map(([k, v]) => [k, v.replace('PORT', String(server.port))]),
    );
    const res = await get('/v1/status', withPort);
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ kind: 'PermissionDenied' });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it.each(['localhost', '127.0.0.1', 'LOCALHOST'])(
    'accepts a CLI-like request with Host %s and the port',
    async (name) => {
      const res = await get('/v1/status', {
        Host: `${name}:${server.port}`,
        'User-Agent': 'Go-http-client/1.1',
        'Accept-Encoding': 'gzip',
      });
      expect(res.status).toBe(200);
    },
  );

  it('accepts Host [::1] over IPv6 when ::1 is listened on', async (ctx) => {
    if (!server.addresses.some((a) => a.address === '::1')) {
      ctx.skip('IPv6 loopback is unavailable here');
      return;
    }
    const res = await rawRequest(server.port, {
      path: '/v1/status',
      address: '::1',
      headers: { Host: `[::1]:${server.port}`, 'Sec-Fetch-Site': 'same-origin' },
    });
    expect(res.status).toBe(200);
  });

  it('answers a client that half-closes after its request (printf ... | nc), then closes', async () => {
    const answer = await rawExchange(server.port, (socket) => {
      // the request, then FIN on our side, as nc does at the end of its input
      socket.end(`GET /v1/status HTTP/1.1\r\nHost: localhost:${server.port}\r\n\r\n`);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(answer).toContain('"status":"running"');
  });

  it('closes connections that send headers too slowly', async () => {
    const slow = await startControlServer(agent, {
      hosts: ['127.0.0.1'],
      timeouts: { headersMs: 200, requestMs: 300 },
    });
    try {
      const closed = await rawExchange(slow.port, (socket) => {
        socket.write('GET /v1/status HTTP/1.1\r\nHost: localhost\r\n');
      });
      expect(closed).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      await slow.close();
    }
  });
});

describe('ControlServer connection cap', () => {
  it('drops connections beyond maxConnections', async () => {
    const net = await import('node:net');
    const capped = await startControlServer(agent, { hosts: ['127.0.0.1'], maxConnections: 1 });
    const holder = net.connect(capped.port, '127.0.0.1');
    try {
      await new Promise<void>((resolve) =>
        holder.once('connect', () => {
          resolve();
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      const second = await rawRequest(capped.port, { path: '/v1/status' }).then(
        (res) => res.status,
        (err: unknown) => (err as { code?: string }).code,
      );
      expect(second).toMatch(/ECONNRESET|EPIPE/);
    } finally {
      holder.destroy();
      await capped.close();
    }
  });
});
