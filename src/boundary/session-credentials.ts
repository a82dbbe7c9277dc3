/**
 * The session's mTLS credentials as Node's TLS wants them. Boundary ships the Ed25519 private key
 * in Go's 64-byte form (seed ‖ public key); Node imports it as PKCS#8 built from the seed.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { SessionAuthorizationData } from './authz-token.js';
import { AuthorizationTokenError } from './errors.js';

// DER of PKCS#8 PrivateKeyInfo { version 0, AlgorithmIdentifier { 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } }
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export interface SessionCredentials {
  readonly sessionId: string;
  /** The session certificate, DER: the client presents it and the worker must present the same. */
  readonly certificate: Buffer;
  readonly certificatePem: string;
  readonly privateKey: KeyObject;
}

/** Go's ed25519.PrivateKey (64 bytes) → a Node KeyObject. */
export function ed25519KeyFromGo(goKey: Uint8Array): KeyObject {
  if (goKey.length !== 64) {
    throw new AuthorizationTokenError(`its private key is ${goKey.length} bytes, not 64`);
  }
  const der = Buffer.concat([ED25519_PKCS8_PREFIX, goKey.subarray(0, 32)]);
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}

export function sessionCredentials(sad: SessionAuthorizationData): SessionCredentials {
  const certificate = Buffer.from(sad.certificate);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certificate);
  } catch (cause) {
    throw new AuthorizationTokenError('its session certificate is not a valid X.509 certificate', {
      cause,
    });
  }
  return {
    sessionId: sad.sessionId,
    certificate,
    certificatePem: cert.toString(),
    privateKey: ed25519KeyFromGo(sad.privateKey),
  };
}
