/**
 * TLS session resumption to the worker: a session's later connections resume the first one's
 * TLS session (no certificates, no signatures), and only a ticket from a worker that passed the
 * certificate check is ever kept.
 */
import { describe, expect, it } from 'vitest';
import { roundTrip, testSignal, useWorkerFixture } from './fixture.js';

const f = useWorkerFixture();

describe('TLS resumption to the worker', () => {
  it('resumes the session’s TLS on later connections, which relay as usual', async () => {
    const s = f.session();
    const first = await f.dialer.prepare(s.auth, testSignal());
    expect(first.tlsResumed).toBe(false);
    const stream = await first.handshake(s.tofu, testSignal());
    expect(await roundTrip(stream, Buffer.from('one'))).toEqual(Buffer.from('one'));
    const later = await f.dialer.prepare(s.auth, testSignal());
    expect(later.tlsResumed).toBe(true);
    const again = await later.handshake(s.tofu, testSignal());
    expect(await roundTrip(again, Buffer.from('two'))).toEqual(Buffer.from('two'));
    expect(s.record.connections).toHaveLength(2);
  });

  it('keeps no ticket from a worker that failed the certificate check', async () => {
    const a = f.session();
    const b = f.session();
    // The worker serves session a's certificate; the client expects b's and refuses it.
    const auth = { ...a.auth, certificate: b.auth.certificate, privateKey: b.auth.privateKey };
    for (let i = 0; i < 2; i++) {
      const error = await f.dialer.prepare(auth, testSignal()).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'worker.untrusted' });
    }
  });

  it('keeps tickets per session: another session makes a full handshake', async () => {
    const a = f.session();
    const b = f.session();
    (await f.dialer.prepare(a.auth, testSignal())).destroy();
    (await f.dialer.prepare(a.auth, testSignal())).destroy();
    const other = await f.dialer.prepare(b.auth, testSignal());
    expect(other.tlsResumed).toBe(false);
    other.destroy();
  });
});

describe('TLS cipher suite', () => {
  it('offers AES-128-GCM first, and the stand-in worker takes it', async () => {
    const s = f.session();
    const prepared = await f.dialer.prepare(s.auth, testSignal());
    const socket = (prepared.ws as unknown as { _socket: import('node:tls').TLSSocket })._socket;
    expect(socket.getCipher().standardName).toBe('TLS_AES_128_GCM_SHA256');
    prepared.destroy();
  });
});
