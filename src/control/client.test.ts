import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeAgent, TOKEN, dbSession } from '../../test/control/fake-agent.js';
import { UsageError } from '../lib/index.js';
import { ControlClient, resolveControlPort } from './client.js';
import { ControlError } from './errors.js';
import { ControlServer } from './server.js';
import { startControlServer } from '../../test/control/start-server.js';
import { freePort } from '../../test/helpers/free-port.js';

describe('resolveControlPort', () => {
  it('takes the option, then the environment, then 9300', () => {
    expect(resolveControlPort(9444, { BOUNDARY_CLIENT_AGENT_LISTENING_PORT: '9555' })).toBe(9444);
    expect(resolveControlPort(undefined, { BOUNDARY_CLIENT_AGENT_LISTENING_PORT: '9555' })).toBe(
      9555,
    );
    expect(resolveControlPort(undefined, {})).toBe(9300);
  });

  it('refuses a bad port as a usage error naming where it came from', () => {
    expect(() =>
      resolveControlPort(undefined, { BOUNDARY_CLIENT_AGENT_LISTENING_PORT: 'x' }),
    ).toThrow(/BOUNDARY_CLIENT_AGENT_LISTENING_PORT "x"/);
    expect(() => resolveControlPort(70000)).toThrow(UsageError);
  });
});

describe('ControlClient', () => {
  const agent = new FakeAgent();
  let server: ControlServer;
  let client: ControlClient;
  beforeAll(async () => {
    server = await startControlServer(agent, { selfUid: process.getuid?.() });
    client = new ControlClient({
      env: { BOUNDARY_CLIENT_AGENT_LISTENING_PORT: String(server.port) },
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it('calls every route', async () => {
    expect(await client.status()).toMatchObject({ status: 'running', boundary_addr: '' });
    expect(await client.sessions()).toEqual([]);
    await client.addToken('http://127.0.0.1:9200', TOKEN);
    expect((await client.status()).auth_token_id).toBe('at_1234567890');
    agent.sessionsByUid.set(process.getuid?.() ?? 0, [dbSession()]);
    expect(await client.sessions()).toEqual([dbSession()]);
    expect((await client.pause()).status).toBe('paused');
    expect((await client.details()).paused_reason).toBe('user');
    expect((await client.resume()).status).toBe('running');
    expect((await client.authorizeSession('db.corp')).session_id).toBe('s_fake000001');
    const record = { id: 's_db00000001', alias: 'db.corp', status: 'active' };
    agent.records.set(record.id, { uid: process.getuid?.() ?? 0, record });
    expect(await client.readSession(record.id)).toEqual(record);
    expect(await client.cancelSession(record.id)).toMatchObject({ status: 'canceling' });
    await expect(client.readSession('s_nope/../x')).rejects.toMatchObject({ status: 404 });
    const diagnosis = await client.diagnoseAlias('db.corp');
    expect(diagnosis.steps[0]).toMatchObject({ id: 'agent', status: 'pass' });
    // The checklist runs as the caller, whoever they are: the uid comes from the connection.
    expect(agent.calls).toContain(`diag:${process.getuid?.() ?? 0}:db.corp`);
  });

  it('refuses a diag request whose alias is not a DNS name', async () => {
    const err = await client.diagnoseAlias('db_corp;rm').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'control.api', status: 400, kind: 'InvalidArgument' });
  });

  it('turns an API error into a ControlError with the server’s message', async () => {
    const err = await client.addToken('ftp://nope', TOKEN).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlError);
    expect(err).toMatchObject({
      code: 'control.api',
      status: 400,
      kind: 'InvalidArgument',
      message: 'the agent refused POST /v1/tokens: Error in provided request.',
    });
  });

  it('says the agent is not running, and how to start it, when nothing listens', async () => {
    const port = await freePort();
    const err = await new ControlClient({ port }).status().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlError);
    const error = err as ControlError;
    expect(error.code).toBe('control.not_running');
    expect(error.message).toContain(`not running on port ${port}`);
    expect(error.hint).toContain('sudo client-agent daemon');
    expect(error.hint).toContain('client-agent dev');
  });

  it('gives up on an agent that does not answer', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as net.AddressInfo;
      const err = await new ControlClient({ port, timeoutMs: 200 })
        .status()
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'control.unreachable' });
      expect((err as Error).message).toContain('within 200 ms');
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) =>
        silent.close(() => {
          resolve();
        }),
      );
    }
  });
});
