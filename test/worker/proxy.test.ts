import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { WorkerError } from '../../src/boundary/index.js';
import { closed, eventually, roundTrip, sha256, useWorkerFixture, testSignal } from './fixture.js';

const f = useWorkerFixture();
const signal = testSignal;

describe('worker proxy: connecting', () => {
  it('relays bytes to the target and back, and records the connection', async () => {
    const s = f.session();
    const stream = await f.dialer.open(s.auth, s.tofu, signal());
    expect(stream.handshake).toEqual({
      expiration: new Date(s.record.expirationTime),
      connectionLimit: -1,
      connectionsLeft: -1,
    });
    expect(stream.workerAddress).toBe(f.worker.address);
    expect(s.record.status).toBe('active');
    expect(s.record.tofuToken).toBe(s.tofu);

    const back = await roundTrip(stream, Buffer.from('hello through boundary\n'));
    expect(back.toString()).toBe('hello through boundary\n');
    expect(await closed(stream)).toBeUndefined();
    await eventually(() => s.record.connections[0]?.open === false);
    expect(s.record.connections[0]).toMatchObject({
      bytesUp: 23,
      bytesDown: 23,
      closedReason: 'closed by end-user',
      endpointTcpPort: f.echo.address().port,
    });
    expect(s.record.status).toBe('active');
  });

  it('carries 5 MiB each way intact, in both directions at once', async () => {
    const s = f.session();
    const stream = await f.dialer.open(s.auth, s.tofu, signal());
    const data = randomBytes(5 * 1024 * 1024);
    const back = await roundTrip(stream, data);
    expect(back.length).toBe(data.length);
    expect(sha256(back)).toBe(sha256(data));
    await closed(stream);
    await eventually(() => s.record.connections[0]?.open === false);
    expect(s.record.connections[0]?.bytesUp).toBe(data.length);
    expect(s.record.connections[0]?.bytesDown).toBe(data.length);
  });

  it('serves two connections on one session with the same tofu token', async () => {
    const s = f.session();
    const [a, b] = await Promise.all([
      f.dialer.open(s.auth, s.tofu, signal()),
      f.dialer.open(s.auth, s.tofu, signal()),
    ]);
    const [ra, rb] = await Promise.all([
      roundTrip(a, Buffer.from('first')),
      roundTrip(b, Buffer.from('second')),
    ]);
    expect([ra.toString(), rb.toString()]).toEqual(['first', 'second']);
    expect(s.record.connections).toHaveLength(2);
  });

  it('refuses another tofu token: the session is already in use', async () => {
    const s = f.session();
    const first = await f.dialer.open(s.auth, s.tofu, signal());
    const other = f.session().tofu;
    const error = await f.dialer.open(s.auth, other, signal()).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'worker.session_in_use',
      message: 'session is already in use',
      closeCode: 1008,
      closeReason: 'tofu token not allowed',
    });
    expect((error as WorkerError).hint).toMatch(/new session/);
    expect((await roundTrip(first, Buffer.from('still mine'))).toString()).toBe('still mine');
  });

  it('enforces the connection limit and ends the session when its last connection closes', async () => {
    const s = f.session({ connectionLimit: 1 });
    const first = await f.dialer.open(s.auth, s.tofu, signal());
    expect(first.handshake).toMatchObject({ connectionLimit: 1, connectionsLeft: 0 });
    const error = await f.dialer.open(s.auth, s.tofu, signal()).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'worker.connection_limit',
      closeCode: 1011,
      closeReason: 'unable to authorize connection',
    });
    expect((error as Error).message).toMatch(/^connection limit reached/);
    expect(s.record.status).toBe('active');

    await roundTrip(first, Buffer.from('x'));
    await closed(first);
    await eventually(() => s.record.status === 'terminated');
    expect(s.record.terminationReason).toBe('connection limit');
    expect(s.record.connections).toHaveLength(1);
  });

  it('counts connections left down to zero', async () => {
    const s = f.session({ connectionLimit: 2 });
    const a = await f.dialer.open(s.auth, s.tofu, signal());
    const b = await f.dialer.open(s.auth, s.tofu, signal());
    expect([a.handshake.connectionsLeft, b.handshake.connectionsLeft]).toEqual([1, 0]);
    a.destroy();
    b.destroy();
  });

  it('logs what it serves, never the tofu token, certificates or keys', async () => {
    const s = f.session();
    const stream = await f.dialer.open(s.auth, s.tofu, signal());
    await roundTrip(stream, Buffer.from('ping'));
    await closed(stream);
    await eventually(() => f.logs.some((l) => l.includes('Proxied connection closed.')));
    const all = f.logs.join('');
    expect(all).toContain(s.record.id);
    expect(all).not.toContain(s.tofu);
    expect(all).not.toMatch(/BEGIN|PRIVATE KEY/);
    expect(all).not.toContain(Buffer.from(s.auth.certificate).toString('base64').slice(0, 40));
  });
});
