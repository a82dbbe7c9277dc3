/**
 * `client-agent diag ALIAS` end to end on loopback: the command line in-process, the control
 * API, the composed agent (demo profile) and the stand-in controller, worker and echo target.
 * A healthy setup passes every step; each injected fault is named by the step that fails.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/index.js';
import { ControllerClient } from '../../src/boundary/index.js';
import { ControlServer } from '../../src/control/index.js';
import { Agent } from '../../src/daemon/index.js';
import { startDevserver, type Devserver } from '../../src/devserver/index.js';
import type { DiagReport } from '../../src/diag/index.js';
import { systemClock } from '../../src/lib/index.js';
import { LinuxPeerCredentials } from '../../src/platform/index.js';
import { captureIo } from '../helpers/cli-io.js';
import { freePort } from '../helpers/dns-dnsmasq.js';
import { testAgentConfig } from '../helpers/agent-config.js';
import { silentLog } from '../helpers/standin.js';

const UID = os.userInfo().uid;
const ROOT = path.resolve(import.meta.dirname, '../..');
const ALIAS = 'echo.boundary.dev';
const ECHO = 'ttcp_echo000001';
const ADMIN = 'u_1234567890';

let dir: string;
let devserver: Devserver;
let agent: Agent;
let control: ControlServer;
let tokenId: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'client-agent-diag-'));
  await fs.copyFile(path.join(ROOT, 'config/devserver.json'), path.join(dir, 'data.json'));
  devserver = await startDevserver({
    dataFile: path.join(dir, 'data.json'),
    host: '127.0.0.1',
    port: 0,
    workerPort: 0,
    clock: systemClock,
    log: silentLog,
  });
  const config = await testAgentConfig(dir, '127.102.0.0/16');
  const peers = new LinuxPeerCredentials();
  agent = new Agent({
    config,
    profile: { name: 'dev', dnsAddresses: ['127.0.0.1'], dnsPort: 0, systemUpstreams: [] },
    clock: systemClock,
    log: silentLog,
    peers,
    version: '0.0.0-test',
    diag: { settleMs: 500, requestTimeoutMs: 5_000 },
  });
  await agent.start();
  control = new ControlServer({ agent: agent.api, peers, port: 0, log: silentLog });
  await control.start();
  const client = new ControllerClient({ address: devserver.controller.address });
  const { token, id } = await client.authenticate(
    devserver.directory.authMethodId,
    'admin',
    'password',
  );
  await client.close();
  tokenId = id;
  await agent.api.addToken(UID, devserver.controller.address, token);
});

afterEach(async () => {
  await control.close();
  await agent.close();
  await devserver.close();
  await fs.rm(dir, { recursive: true, force: true });
});

async function diag(
  ...args: string[]
): Promise<{ code: number; report: DiagReport; text: string }> {
  const port = String(control.port);
  const io = captureIo({ env: { BOUNDARY_CLIENT_AGENT_LISTENING_PORT: port } });
  const code = await run(['diag', ...args, '--json'], io);
  const report = JSON.parse(io.out()) as DiagReport;
  const textIo = captureIo({ env: { BOUNDARY_CLIENT_AGENT_LISTENING_PORT: port } });
  await run(['diag', ...args], textIo);
  return { code, report, text: textIo.out() };
}

const statuses = (report: DiagReport): string[] => report.steps.map((s) => `${s.id}:${s.status}`);
const stepOf = (report: DiagReport, id: string) => report.steps.find((s) => s.id === id);

describe('client-agent diag ALIAS', () => {
  it('passes every step on a healthy setup, in order, and exits 0; its own session is canceled', async () => {
    const { code, report, text } = await diag(ALIAS);
    expect(statuses(report)).toEqual([
      'agent:pass',
      'token:pass',
      'controller:pass',
      'alias:pass',
      'resolver:pass',
      'authorize:pass',
      'worker:pass',
      'target:pass',
      'session:pass',
    ]);
    expect(code).toBe(0);
    expect(report).toMatchObject({ kind: 'alias', alias: ALIAS, ok: true });
    expect(report.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(stepOf(report, 'token')?.seen).toMatch(
      new RegExp(`^${tokenId} for http://127\\.0\\.0\\.1:\\d+, expires in 6d23h`),
    );
    expect(stepOf(report, 'alias')?.details).toMatchObject({
      target_id: ECHO,
      alias_id: 'alt_echo000001',
    });
    expect(stepOf(report, 'resolver')?.seen).toMatch(
      /asked its DNS server 127\.0\.0\.1:\d+ directly: echo\.boundary\.dev → 127\.102\./,
    );
    expect(stepOf(report, 'session')?.seen).toMatch(
      /allows unlimited connections and lasts 7h59m|your session s_/,
    );
    expect(text).toMatch(/^✓ Worker accepts the session: 127\.0\.0\.1:\d+ accepted the session/m);
    expect(text).toContain('All 9 checks passed.');
    // Each run's own session (two runs) ended canceled at the worker.
    const own = devserver.sessions.all().filter((s) => s.terminationReason === 'canceled');
    expect(own.length).toBeGreaterThanOrEqual(2);
  }, 30_000);

  it('agent paused: the first step fails, the rest is skipped, exit 1', async () => {
    await agent.api.pause(UID);
    const { code, report, text } = await diag(ALIAS);
    expect(code).toBe(1);
    expect(statuses(report).slice(0, 2)).toEqual(['agent:fail', 'token:skip']);
    expect(report.steps.slice(1).every((s) => s.status === 'skip')).toBe(true);
    expect(stepOf(report, 'agent')?.fix).toBe('Run "client-agent resume".');
    expect(text).toMatch(/^✗ Agent running and not paused: paused by a user/m);
    expect(text).toContain('1 failed, 8 skipped, 0 passed');
  }, 30_000);

  it('expired token: the token step fails and says to log in again', async () => {
    devserver.directory.expireToken(tokenId);
    const { code, report } = await diag(ALIAS);
    expect(code).toBe(1);
    expect(statuses(report).slice(0, 3)).toEqual(['agent:pass', 'token:fail', 'controller:skip']);
    expect(stepOf(report, 'token')?.seen).toContain(
      `no longer accepts ${tokenId} (expired or revoked)`,
    );
    expect(stepOf(report, 'token')?.fix).toContain('client-agent login');
  }, 30_000);

  it('authorize-session revoked (the alias still visible): authorize fails naming the missing grant', async () => {
    const user = devserver.directory.users.get(ADMIN);
    if (user === undefined) throw new Error('no admin');
    user.grants.set(ECHO, new Set(['read']));
    user.grantsVersion++;
    const { code, report } = await diag(ALIAS);
    expect(code).toBe(1);
    expect(stepOf(report, 'alias')?.status).toBe('pass');
    expect(stepOf(report, 'authorize')).toMatchObject({
      status: 'fail',
      seen: `the controller refused authorize-session on ${ECHO} (403 PermissionDenied)`,
    });
    expect(stepOf(report, 'authorize')?.fix).toContain(
      `"type=target;ids=${ECHO};actions=authorize-session"`,
    );
    // The agent forwards an alias it cannot authorize: the resolver step points at authorize.
    expect(stepOf(report, 'resolver')?.status).toBe('warn');
    expect(statuses(report).slice(-3)).toEqual(['worker:skip', 'target:skip', 'session:skip']);
  }, 30_000);

  it('alias removed at the controller: the alias step fails after a refresh, with a suggestion', async () => {
    devserver.directory.removeAlias('alt_echo000001');
    const { code, report } = await diag(ALIAS);
    expect(code).toBe(1);
    expect(stepOf(report, 'alias')?.status).toBe('fail');
    expect(stepOf(report, 'alias')?.seen).toMatch(
      /echo\.boundary\.dev is not among the \d aliases your Boundary user may resolve \(refreshed 0s ago \(delta\)\)/,
    );
    expect(stepOf(report, 'resolver')?.status).toBe('skip');
    const typo = await diag('echo.boundary.dve');
    expect(stepOf(typo.report, 'alias')?.seen).toContain('did you mean');
  }, 30_000);

  it('listing forbidden: the alias step names the list-resolvable-aliases grant', async () => {
    const user = devserver.directory.users.get(ADMIN);
    if (user === undefined) throw new Error('no admin');
    user.canListAliases = false;
    const { report } = await diag(ALIAS);
    expect(stepOf(report, 'alias')).toMatchObject({ status: 'fail' });
    expect(stepOf(report, 'alias')?.fix).toContain(
      `"type=user;ids=${ADMIN};actions=list-resolvable-aliases"`,
    );
  }, 30_000);

  it('worker down: the worker step fails; the session is canceled at the controller instead', async () => {
    await devserver.worker.close();
    const { code, report } = await diag(ALIAS);
    expect(code).toBe(1);
    expect(stepOf(report, 'authorize')?.status).toBe('pass');
    expect(stepOf(report, 'worker')?.status).toBe('fail');
    expect(stepOf(report, 'worker')?.fix).toContain('reachable from this machine');
    expect(statuses(report).slice(-2)).toEqual(['target:skip', 'session:skip']);
  }, 30_000);

  it('target down: the worker accepts, the target step fails', async () => {
    const target = devserver.directory.targets.get(ECHO);
    if (target === undefined) throw new Error('no echo target');
    target.port = await freePort('127.0.0.1');
    const { code, report } = await diag(ALIAS);
    expect(code).toBe(1);
    expect(stepOf(report, 'worker')?.status).toBe('pass');
    expect(stepOf(report, 'target')).toMatchObject({ status: 'fail' });
    expect(stepOf(report, 'target')?.seen).toContain('the worker could not reach the target');
    expect(stepOf(report, 'session')?.status).toBe('skip');
  }, 30_000);
});
