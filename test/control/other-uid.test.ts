/**
 * Another OS user, for real: as root, a child process running as uid 65534 (nobody) talks to the
 * server, whose LinuxPeerCredentials reads its uid from /proc/net/tcp.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbSession, FakeAgent, TOKEN } from './fake-agent.js';
import type { ControlServer } from '../../src/control/server.js';
import { startControlServer } from './start-server.js';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0 && process.platform === 'linux';
if (!isRoot) {
  console.log('other-uid.test: skipped, it needs root on Linux to run a child as uid 65534');
}

/** Runs in the child: each request in turn, printing [status, body] pairs as JSON. */
const CHILD = `
const http = require('node:http');
const port = Number(process.argv[1]);
const steps = JSON.parse(process.argv[2]);
function one([method, path, body]) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: false,
      headers: { 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve([res.statusCode, JSON.parse(text)]));
    });
    req.on('error', reject);
    req.end(body);
  });
}
(async () => {
  const out = [];
  for (const step of steps) out.push(await one(step));
  process.stdout.write(JSON.stringify(out));
})().catch((err) => { console.error(err.message); process.exit(1); });
`;

function asNobody(
  port: number,
  steps: readonly (readonly string[])[],
): Promise<[number, unknown][]> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['-e', CHILD, String(port), JSON.stringify(steps)],
      { uid: NOBODY, gid: NOBODY, cwd: '/', timeout: 10_000, env: {} },
      (err, stdout, stderr) => {
        if (err !== null) reject(new Error(`${err.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as [number, unknown][]);
      },
    );
  });
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
});
