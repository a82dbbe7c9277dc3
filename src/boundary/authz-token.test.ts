import { X509Certificate } from 'node:crypto';
import bs58 from 'bs58';
import { describe, expect, it } from 'vitest';
import { createSessionCertificate } from '../devserver/index.js';
import {
  decodeAuthorizationToken,
  encodeAuthorizationToken,
  type SessionAuthorizationData,
} from './authz-token.js';
import { sessionCredentials } from './session-credentials.js';

function sample(overrides: Partial<SessionAuthorizationData> = {}): SessionAuthorizationData {
  const created = new Date('2026-03-01T10:00:00.500Z');
  const expiration = new Date('2026-03-01T18:00:00.500Z');
  const cert = createSessionCertificate({
    sessionId: 's_Kp3Lm9Nq2R',
    notBefore: new Date(created.getTime() - 60_000),
    notAfter: expiration,
    workerHosts: ['127.0.0.1'],
  });
  return {
    sessionId: 's_Kp3Lm9Nq2R',
    targetId: 'ttcp_Z9x8C7v6B5',
    scope: {
      id: 'p_1234567890',
      type: 'project',
      name: 'databases',
      description: 'prod',
      parentScopeId: 'o_1234567890',
    },
    createdTime: created,
    type: 'tcp',
    connectionLimit: -1,
    endpointPort: 5432,
    expiration,
    certificate: cert.certificate,
    privateKey: cert.privateKey,
    hostId: 'hst_1234567890',
    endpoint: 'tcp://10.0.0.5:5432',
    workerInfo: [{ address: '127.0.0.1:9202' }, { address: 'worker2.corp:9202' }],
    defaultClientPort: 15432,
    ...overrides,
  };
}

describe('authorization token', () => {
  it('round-trips every field, negative connection limit included', () => {
    const data = sample();
    const token = encodeAuthorizationToken(data);
    expect(token).toMatch(/^[1-9A-HJ-NP-Za-km-z]+$/);
    expect(decodeAuthorizationToken(token)).toEqual(data);
  });

  it('round-trips a limited session without a default client port or scope', () => {
    const data = sample({ connectionLimit: 1, defaultClientPort: 0, scope: undefined, hostId: '' });
    expect(decodeAuthorizationToken(encodeAuthorizationToken(data))).toEqual(data);
  });

  it('writes a negative int32 as the 10-byte varint protobuf uses', () => {
    const raw = bs58.decode(encodeAuthorizationToken(sample({ connectionLimit: -1 })));
    // tag of field 90, varint: (90 << 3) | 0 = 720 = 0xd0 0x05
    const at = Buffer.from(raw).indexOf(Buffer.from([0xd0, 0x05]));
    expect(at).toBeGreaterThan(0);
    expect([...raw.subarray(at + 2, at + 12)]).toEqual([
      255, 255, 255, 255, 255, 255, 255, 255, 255, 1,
    ]);
  });

  it('yields credentials Node TLS can use: the certificate and the matching key', () => {
    const creds = sessionCredentials(decodeAuthorizationToken(encodeAuthorizationToken(sample())));
    const cert = new X509Certificate(creds.certificate);
    expect(cert.checkPrivateKey(creds.privateKey)).toBe(true);
    expect(cert.subjectAltName).toContain('DNS:s_Kp3Lm9Nq2R');
    expect(creds.certificatePem).toContain('BEGIN CERTIFICATE');
  });

  it('skips fields it does not know', () => {
    const token = encodeAuthorizationToken(sample());
    const extra = Buffer.concat([Buffer.from(bs58.decode(token)), Buffer.from([0xf8, 0x3e, 0x07])]); // field 999 varint 7
    expect(decodeAuthorizationToken(bs58.encode(extra)).sessionId).toBe('s_Kp3Lm9Nq2R');
  });

  it.each([
    ['text that is not base58', 'not-base58-0OIl!', /not base58 text/],
    ['an empty token', '', /no session id/],
    ['a truncated token', encodeAuthorizationToken(sample()).slice(0, 200), /truncated|no /],
    [
      'random bytes',
      bs58.encode(Buffer.from('this is not a protobuf at all, really')),
      /invalid session authorization token/,
    ],
    [
      'a token without a key',
      encodeAuthorizationToken(sample({ privateKey: new Uint8Array(32) })),
      /private key is 32 bytes/,
    ],
    [
      'a token without workers',
      encodeAuthorizationToken(sample({ workerInfo: [] })),
      /names no worker/,
    ],
    [
      'a token without a certificate',
      encodeAuthorizationToken(sample({ certificate: new Uint8Array(0) })),
      /no session certificate/,
    ],
    [
      'a token without an expiration',
      encodeAuthorizationToken(sample({ expiration: undefined })),
      /no expiration/,
    ],
  ])('rejects %s with a clear error', (_what, token, message) => {
    let error: unknown;
    try {
      decodeAuthorizationToken(token);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'boundary.authorization_token' });
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/^invalid session authorization token: /);
  });

  it('never throws anything but its own error on every truncation of a real token', () => {
    const raw = bs58.decode(encodeAuthorizationToken(sample()));
    for (let n = 0; n < raw.length; n++) {
      try {
        decodeAuthorizationToken(bs58.encode(raw.subarray(0, n)));
      } catch (e) {
        expect((e as { code?: string }).code).toBe('boundary.authorization_token');
      }
    }
  });
});
