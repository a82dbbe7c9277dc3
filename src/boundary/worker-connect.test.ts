import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSessionCertificate } from '../devserver/index.js';
import { splitHostPort, workerCertificateProblem } from './worker-connect.js';

describe('splitHostPort', () => {
  it.each([
    ['127.0.0.1:9202', '127.0.0.1', 9202],
    ['worker.corp:443', 'worker.corp', 443],
    ['[::1]:9300', '::1', 9300],
    ['[fd00::1]', 'fd00::1', 9202],
    ['fd00::1', 'fd00::1', 9202],
    ['worker.corp', 'worker.corp', 9202],
  ])('%s', (address, host, port) => {
    expect(splitHostPort(address)).toEqual({ host, port });
  });
});

describe('workerCertificateProblem', () => {
  const now = Date.UTC(2026, 2, 1, 12);
  const cert = (sessionId: string, from = now - 60_000, to = now + 3_600_000) =>
    new X509Certificate(
      createSessionCertificate({ sessionId, notBefore: new Date(from), notAfter: new Date(to) })
        .certificate,
    );
  const session = cert('s_Kp3Lm9Nq2R');

  it('accepts the session certificate itself', () => {
    expect(workerCertificateProblem(session, session, 's_Kp3Lm9Nq2R', now)).toBeUndefined();
  });

  it('refuses another certificate, even one for the same session id', () => {
    expect(workerCertificateProblem(cert('s_Kp3Lm9Nq2R'), session, 's_Kp3Lm9Nq2R', now)).toMatch(
      /not the session certificate/,
    );
  });

  it('refuses a missing certificate', () => {
    expect(workerCertificateProblem(undefined, session, 's_Kp3Lm9Nq2R', now)).toMatch(
      /no certificate/,
    );
  });

  it('refuses a certificate that does not name the session', () => {
    expect(workerCertificateProblem(session, session, 's_Other00000', now)).toMatch(
      /does not name the session s_Other00000/,
    );
  });

  it('refuses a certificate outside its validity', () => {
    expect(workerCertificateProblem(session, session, 's_Kp3Lm9Nq2R', now + 7_200_000)).toMatch(
      /not valid now/,
    );
  });
});
