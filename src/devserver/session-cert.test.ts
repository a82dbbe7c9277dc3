import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ed25519KeyFromGo } from '../boundary/index.js';
import { createSessionCertificate } from './session-cert.js';

describe('createSessionCertificate', () => {
  const notBefore = new Date('2026-03-01T09:59:00Z');
  const notAfter = new Date('2026-03-01T18:00:00Z');

  it('makes a self-signed Ed25519 CA certificate naming the session, then the worker', () => {
    const { certificate, privateKey } = createSessionCertificate({
      sessionId: 's_AbCdE12345',
      notBefore,
      notAfter,
      workerHosts: ['127.0.0.1', 'worker.corp'],
    });
    const cert = new X509Certificate(certificate);
    expect(cert.subjectAltName).toBe('DNS:s_AbCdE12345, DNS:worker.corp, IP Address:127.0.0.1');
    expect(cert.ca).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    expect(new Date(cert.validFrom)).toEqual(notBefore);
    expect(new Date(cert.validTo)).toEqual(notAfter);
    expect(privateKey).toHaveLength(64);
    expect(cert.checkPrivateKey(ed25519KeyFromGo(privateKey))).toBe(true);
  });

  it('always encodes valid DER (random serial numbers included)', () => {
    for (let i = 0; i < 1000; i++) {
      const { certificate } = createSessionCertificate({
        sessionId: `s_${String(i).padStart(10, '0')}`,
        notBefore,
        notAfter,
      });
      expect(() => new X509Certificate(certificate)).not.toThrow();
    }
  });
});
