/**
 * The composed agent in-process against the stand-in Boundary (controller, worker, echo) on
 * loopback: pause and resume, the self-pause after controller failures, reload without dropping
 * a session, and what a clean stop leaves behind.
 */
import { Resolver } from 'node:dns/promises';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ControllerClient } from '../../src/boundary/index.js';
import type { AgentConfig } from '../../src/config/index.js';
import { Agent } from '../../src/daemon/index.js';
import { startDevserver, type Devserver } from '../../src/devserver/index.js';
import { ManualClock } from '../../src/lib/index.js';
import { LinuxPeerCredentials } from '../../src/platform/index.js';
import { testAgentConfig } from '../helpers/agent-config.js';
import { silentLog } from '../helpers/standin.js';

const UID = os.userInfo().uid;
const ROOT = path.resolve(import.meta.dirname, '../..');

let dir: string;
let clock: ManualClock;
let devserver: Devserver;
let agent: Agent | undefined;
let config: AgentConfig;
let configured: { level: string; file: string | null; toStdout: boolean }[];

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'client-agent-daemon-'));
  const data = JSON.parse(await fs.readFile(path.join(ROOT, 'config/devserver.json'), 'utf8')) as {
    targets: { port: number; demo?: string }[];
  };
  await fs.writeFile(path.join(dir, 'data.json'), JSON.stringify(data));
  clock = new ManualClock(Date.now());
  devserver = await startDevserver({
    dataFile: path.join(dir, 'data.json'),
    host: '127.0.0.1',
    port: 0,
    workerPort: 0,
    clock,
    log: silentLog,
  });
  config = await testAgentConfig(dir, '127.101.0.0/16');
  configured = [];
});

afterEach(async () => {
  await agent?.close();
  agent = undefined;
  await devserver.close();
  await fs.rm(dir, { recursive: true, force: true });
});

async function startAgent(selfPause?: { limit: number; windowMs: number }): Promise<Resolver> {
  agent = new Agent({
    config,
    profile: { name: 'dev', dnsAddresses: ['127.0.0.1'], dnsPort: 0, systemUpstreams: [] },
    clock,
    log: silentLog,
    logger: { configure: (c) => configured.push(c) },
    peers: new LinuxPeerCredentials(),
    version: '0.0.0-test',
    ...(selfPause === undefined ? {} : { selfPause }),
  });
  await agent.start();
  const client = new ControllerClient({ address: devserver.controller.address });
  const { token } = await client.authenticate(
    devserver.directory.authMethodId,
    'admin',
    'password',
  );
  await client.close();
  await agent.api.addToken(UID, devserver.controller.address, token);
  const resolver = new Resolver({ timeout: 2_000, tries: 1 });
  resolver.setServers([agent.dnsAddresses[0] ?? '']);
  return resolver;
}

function echo(address: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(7777, address, () => socket.write(text));
    socket.once('data', (c: Buffer) => {
      resolve(c.toString());
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

describe('Agent', () => {
  it('reports its status in the Boundary CLI shape for the caller', async () => {
    await startAgent();
    const status = agent?.api.status(UID);
    expect(Object.keys(status ?? {}).sort()).toEqual([
      'auth_token_expiry',
      'auth_token_id',
      'boundary_addr',
      'errors',
      'status',
      'version',
      'warnings',
    ]);
    expect(status).toMatchObject({
      boundary_addr: devserver.controller.address,
      status: 'running',
      version: '0.0.0-test',
    });
    expect(status?.auth_token_id).toMatch(/^at_/);
    expect(agent?.api.status(UID + 1)).toMatchObject({ boundary_addr: '', auth_token_id: '' });
    expect(agent?.api.details(UID)).toMatchObject({
      alias_count: 3,
      users_with_tokens: 1,
      status: 'running',
    });
  });

  it('pauses: sessions canceled, alias answers off, state kept; resume brings answers back', async () => {
    const resolver = await startAgent();
    const [address] = await resolver.resolve4('echo.boundary.dev');
    expect(await echo(address ?? '', 'before')).toBe('before');
    expect(await resolver.reverse(address ?? '')).toEqual(['echo.boundary.dev']);
    expect(agent?.api.sessions(UID)).toHaveLength(1);
    await agent?.api.pause(UID);
    await expect(resolver.reverse(address ?? '')).rejects.toThrow(); // forwarded to no upstream
    expect(agent?.api.status(UID).status).toBe('paused');
    expect(agent?.api.sessions(UID)).toEqual([]);
    expect(devserver.sessions.all()[0]).toMatchObject({
      status: 'terminated',
      terminationReason: 'canceled',
    });
    await expect(resolver.resolve4('echo.boundary.dev')).rejects.toThrow(); // forwarded to a dead upstream
    expect(JSON.parse(await fs.readFile(config.operationalStateFile, 'utf8'))).toEqual({
      status: 'paused',
      reason: 'user',
    });
    await agent?.api.resume(UID);
    expect(await resolver.resolve4('echo.boundary.dev')).toEqual([address]);
    expect(await echo(address ?? '', 'after')).toBe('after');
    expect(devserver.sessions.all()).toHaveLength(2);
  });

  it('stays paused across a restart', async () => {
    await startAgent();
    await agent?.api.pause(UID);
    await agent?.close();
    const resolver = await startAgent();
    expect(agent?.api.status(UID).status).toBe('paused');
    await expect(resolver.resolve4('echo.boundary.dev')).rejects.toThrow();
  });

  it('pauses itself after repeated controller failures and says why; only resume ends it', async () => {
    await startAgent({ limit: 3, windowMs: 60_000 });
    await devserver.controller.close();
    for (let i = 0; i < 3; i++) await agent?.cache.refresh(UID);
    await new Promise((r) => setTimeout(r, 20));
    const status = agent?.api.status(UID);
    expect(status?.status).toBe('paused');
    expect(status?.warnings.join(' ')).toContain('paused itself after repeated network failures');
    expect(status?.errors[0]).toContain('cannot reach the controller');
    expect(status?.errors[0]).toMatch(/\(\d+ times, last at /);
    // about this user's token: another user sees none of it, root sees it
    expect(agent?.api.status(UID + 1).errors).toEqual([]);
    expect(agent?.api.status(UID + 1, true).errors).toEqual(status?.errors);
    await devserver.controller.start();
    await agent?.api.resume(UID);
    expect(agent?.api.status(UID).status).toBe('running');
  });

  it('counts session authorizations that get no answer toward the self-pause', async () => {
    const resolver = await startAgent({ limit: 2, windowMs: 60_000 });
    await devserver.controller.close();
    for (let i = 0; i < 2; i++) {
      await expect(resolver.resolve4('echo.boundary.dev')).rejects.toThrow();
    }
    await vi.waitFor(() => {
      expect(agent?.api.status(UID).status).toBe('paused');
    });
    expect(agent?.api.status(UID).errors[0]).toContain('cannot reach the controller');
  });

  it('reloads the refresh interval and the log level without dropping a session; other keys need a restart', async () => {
    const resolver = await startAgent();
    const [address] = await resolver.resolve4('echo.boundary.dev');
    expect(await echo(address ?? '', 'x')).toBe('x');
    const result = agent?.reload({
      ...config,
      aliasRefreshIntervalMs: 5_000,
      logLevel: 'debug',
      listenPort: 9999,
    });
    expect(result).toEqual({
      applied: ['aliasRefreshIntervalMs', 'logLevel'],
      needsRestart: ['listenPort'],
    });
    expect(configured).toEqual([{ level: 'debug', file: config.logFile, toStdout: false }]);
    expect(agent?.api.sessions(UID)).toHaveLength(1);
    expect(agent?.api.status(UID).warnings.join(' ')).toContain(
      'listenPort changed in the config file: restart the agent',
    );
    devserver.directory.addAlias({ value: 'new.boundary.dev', destinationId: 'ttcp_echo000001' });
    clock.advance(5_500);
    await agent?.cache.idle();
    expect(agent?.cache.snapshot().lookup('new.boundary.dev')).toBeDefined();
  });

  it('moves the state file on a reload of state_file, keeping the sessions', async () => {
    const resolver = await startAgent();
    const [address] = await resolver.resolve4('echo.boundary.dev');
    expect(await echo(address ?? '', 'x')).toBe('x');
    const moved = path.join(dir, 'moved', 'state.json');
    const result = agent?.reload({ ...config, stateFile: moved });
    expect(result?.applied).toEqual(['stateFile']);
    await vi.waitFor(() => {
      expect(existsSync(moved)).toBe(true);
      expect(existsSync(config.stateFile)).toBe(false);
    });
    expect(JSON.parse(await fs.readFile(moved, 'utf8'))).toHaveProperty('addresses');
    expect(agent?.api.sessions(UID)).toHaveLength(1);
    await agent?.close();
    agent = undefined;
    expect(existsSync(moved)).toBe(false);
  });

  it('keeps the alias addresses in the state file while running and removes it on a clean stop', async () => {
    const resolver = await startAgent();
    const [address] = await resolver.resolve4('echo.boundary.dev');
    const state = JSON.parse(await fs.readFile(config.stateFile, 'utf8')) as Record<
      string,
      unknown
    >;
    expect(state).toHaveProperty('addresses');
    expect(JSON.stringify(state)).not.toMatch(/at_[0-9A-Za-z]{10}_s1|BEGIN|password/);
    await agent?.close();
    agent = undefined;
    expect(existsSync(config.stateFile)).toBe(false);
    expect(address).toMatch(/^127\.101\./);
  });

  it('never sends a token over plain HTTP off this machine unless its owner allowed it', async () => {
    await startAgent();
    const token = 'at_1234567890_s1NeverSentInClear';
    await expect(
      agent?.api.addToken(UID + 1, 'http://192.0.2.1:9200', token),
    ).rejects.toMatchObject({
      code: 'boundary.plain_http',
      message: expect.stringContaining('over plain HTTP') as string,
    });
    expect(agent?.api.hasToken(UID + 1)).toBe(false);
    // The caller's own token for the loopback stand-in stays, with no warning about it.
    expect(agent?.api.status(UID).warnings).toEqual([]);
  });

  it('warns loudly in its log and in status when controller TLS verification is off', async () => {
    const lines: string[] = [];
    const { pino } = await import('pino');
    const { Writable } = await import('node:stream');
    const log = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    agent = new Agent({
      config: { ...config, controllerTlsInsecure: true },
      profile: { name: 'dev', dnsAddresses: ['127.0.0.1'], dnsPort: 0, systemUpstreams: [] },
      clock,
      log,
      peers: new LinuxPeerCredentials(),
      version: '0.0.0-test',
    });
    await agent.start();
    const warning = lines
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .find((l) => l.msg.includes('TLS certificate verification of the controller is OFF'));
    expect(warning?.level).toBe(40);
    expect(agent.api.status(UID).warnings.join('\n')).toContain(
      "the controller's TLS certificate is not verified (controller_tls_insecure = true)",
    );
  });
});
