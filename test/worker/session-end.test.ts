import { describe, expect, it } from 'vitest';
import { closed, eventually, roundTrip, testSignal, useWorkerFixture, within } from './fixture.js';

const f = useWorkerFixture();
const signal = testSignal;

describe('worker proxy: sessions that end', () => {
  it('closes live connections when the session expires, then refuses new ones', async () => {
    const s = f.session({ expiresInMs: 60_000 });
    const stream = await f.dialer.open(s.auth, s.tofu, signal());
    expect((await roundTrip(stream, Buffer.from('before'), false)).toString()).toBe('before');
    const ended = closed(stream);

    f.clock.advance(60_001);
    expect(s.record.status).toBe('terminated');
    expect(s.record.terminationReason).toBe('timed out');
    expect(await ended).toBeUndefined();
    expect(stream.peerClose).toEqual({ code: 1000, reason: 'session expired' });
    expect(s.record.connections[0]?.closedReason).toBe('timed out');

    const error = await f.dialer.open(s.auth, s.tofu, signal()).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'worker.unauthorized',
      message: expect.stringMatching(
        /^session credentials were not accepted, or session is unauthorized/,
      ) as unknown,
    });
  });

  it('cancels the session with SESSION_CANCEL and closes its live connections', async () => {
    const s = f.session();
    const stream = await f.dialer.open(s.auth, s.tofu, signal());
    await roundTrip(stream, Buffer.from('ping'), false);
    const ended = closed(stream);

    await f.dialer.cancelSession(s.auth, s.tofu, signal());
    expect(['canceling', 'terminated']).toContain(s.record.status);
    expect(s.record.terminationReason).toBe('canceled');
    expect(s.record.states.map((st) => st.status)).toContain('canceling');
    expect(await ended).toBeUndefined();
    expect(stream.peerClose).toEqual({ code: 1000, reason: 'session canceled' });
    await eventually(() => s.record.status === 'terminated');
    expect(s.record.connections[0]).toMatchObject({ open: false, closedReason: 'canceled' });

    const error = await f.dialer.open(s.auth, s.tofu, signal()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'worker.unauthorized' });
  });

  it('cancels a session that was never used, without a tofu check', async () => {
    const s = f.session();
    await f.dialer.cancelSession(s.auth, s.tofu, signal());
    expect(s.record.status).toBe('terminated');
    expect(s.record.terminationReason).toBe('canceled');
    expect(s.record.tofuToken).toBeUndefined();
  });

  it('reports a cancel the worker cannot accept as a typed error', async () => {
    const s = f.session();
    f.store.cancel(s.record.id);
    const error = await f.dialer.cancelSession(s.auth, s.tofu, signal()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'worker.unauthorized' });
  });

  it('ends live connections when the worker closes, and closing twice is harmless', async () => {
    const s = f.session();
    const stream = await f.dialer.open(s.auth, s.tofu, signal());
    await roundTrip(stream, Buffer.from('ping'), false);
    const ended = closed(stream);
    await f.worker.close();
    await within(3_000, ended);
    await f.worker.close();
    const error = await f.dialer.open(s.auth, s.tofu, signal()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'worker.unreachable' });
  });
});
