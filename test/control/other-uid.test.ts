/**
 * Another OS user, for real: as root, a child process running as uid 65534 (nobody) talks to the
 * server, whose LinuxPeerCredentials reads its uid from /proc/net/tcp.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asNobody, NOBODY } from './as-nobody.js';
import { dbSession, FakeAgent, TOKEN } from './fake-agent.js';
import type { ControlServer } from '../../src/control/index.js';
import { startControlServer } from './start-server.js';
import { rawRequest } from './raw-request.js';
import { AgentError } from '../../src/lib/index.js';

const isRoot = process.getuid?.() === 0 && process.platform === 'linux';
if (!isRoot) {
  console.log('other-uid.test: skipped, it needs root on Linux to run a child as uid 65534');
}

describe.skipIf(!isRoot)('another local user (uid 65534)', () => {
  const agent = new FakeAgent();
  let server: ControlServer;
  beforeAll(async () => {
    server = await startControlServer(agent, { selfUid: 0 });
    agent.tokens.set(0, { boundaryAddr: 'https://boundary.corp', token: TOKEN });
    agent.sessionsByUid.set(0, [dbSession()]);
  });
  afterAll(async () => {
    await server.close();
  });

  it('sees only its own sessions and cannot pause without a token, then can with one', async () => {
    const results = await asNobody(server.port, [
      ['GET', '/v1/status'],
      ['GET', '/v1/sessions'],
      ['POST', '/v1/pause'],
      [
        'POST',
        '/v1/tokens',
        JSON.stringify({ boundary_addr: 'https://boundary.corp', token: 'at_nobody0001_s1abc' }),
      ],
      ['POST', '/v1/pause'],
    ]);
    const [status, sessions, refused, added, paused] = results;
    expect(status).toEqual([
      200,
      expect.objectContaining({ boundary_addr: '', auth_token_id: '' }),
    ]);
    expect(sessions).toEqual([200, {}]);
    expect(refused?.[0]).toBe(403);
    expect(refused?.[1]).toMatchObject({ kind: 'PermissionDenied' });
    expect(added).toEqual([200, {}]);
    expect(agent.tokens.get(NOBODY)?.token).toBe('at_nobody0001_s1abc');
    expect(agent.tokens.get(0)?.token).toBe(TOKEN);
    expect(paused?.[1]).toMatchObject({ status: 'paused', auth_token_id: 'at_nobody0001' });
    expect(agent.calls).toEqual([`pause:${NOBODY}`]);
  });

  it('sees the agent’s own problems and its own errors, never root’s or the names others looked up', async () => {
    agent.recent.record(
      new AgentError('dns.alias_prepare', 'could not make root-db.corp reachable'),
      {
        uids: [0],
      },
    );
    agent.recent.record(new AgentError('dns.upstream', 'no upstream DNS server answered'), {
      detail: 'private-lookup.example A',
    });
    agent.recent.record(
      new AgentError('proxy.connection', `cannot connect nb.corp for uid ${NOBODY}`),
      {
        uids: [NOBODY],
      },
    );
    const [[, status] = []] = await asNobody(server.port, [['GET', '/v1/status']]);
    expect((status as { errors: string[] }).errors).toEqual([
      `cannot connect nb.corp for uid ${NOBODY}`,
      'no upstream DNS server answered',
    ]);
    const asRoot = (await rawRequest(server.port, { path: '/v1/status' })).json as {
      errors: string[];
    };
    expect(asRoot.errors).toEqual([
      `cannot connect nb.corp for uid ${NOBODY}`,
      'no upstream DNS server answered (last: private-lookup.example A)',
      'could not make root-db.corp reachable',
    ]);
  });
});
