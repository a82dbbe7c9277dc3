/**
 * What the stand-in controller puts in a session authorization, as Boundary's controller does
 * (`newCert` in internal/session/session.go): a fresh Ed25519 key and a self-signed CA
 * certificate whose first DNS SAN is the session id, then the worker's DNS names, with the
 * worker's IPs as IP SANs; server and client auth; valid from a minute ago until the session
 * expires.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import net from 'node:net';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectAlternativeName,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_kp_clientAuth,
  id_kp_serverAuth,
} from '@peculiar/asn1-x509';

const ED25519_OID = '1.3.101.112';
const COMMON_NAME_OID = '2.5.4.3';

export interface SessionCertificate {
  /** DER. */
  readonly certificate: Uint8Array;
  /** Go's ed25519.PrivateKey form: seed ‖ public key, 64 bytes. */
  readonly privateKey: Uint8Array;
}

export interface SessionCertificateOptions {
  readonly sessionId: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Worker host names and IP addresses to add as SANs after the session id. */
  readonly workerHosts?: readonly string[];
}

export function createSessionCertificate(options: SessionCertificateOptions): SessionCertificate {
  // Encoded by the key generation itself: exporting the fresh KeyObject (as JWK, as this did)
  // can deadlock Node 20: the export holds the key's lock while allocating, and a garbage
  // collection then destroying the key's generation job waits for that lock, so a long-running
  // stand-in hangs sooner or later. The DER forms end in the raw keys.
  const { publicKey, privateKey } = generateKeyPairSync('ed25519', {
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  });
  const seed = privateKey.subarray(privateKey.length - 32);
  const pub = publicKey.subarray(publicKey.length - 32);

  const hosts = options.workerHosts ?? [];
  const names = [
    new GeneralName({ dNSName: options.sessionId }),
    ...hosts.filter((h) => net.isIP(h) === 0).map((h) => new GeneralName({ dNSName: h })),
    ...hosts.filter((h) => net.isIP(h) !== 0).map((h) => new GeneralName({ iPAddress: h })),
  ];
  const name = new Name([
    new RelativeDistinguishedName([
      new AttributeTypeAndValue({
        type: COMMON_NAME_OID,
        value: new AttributeValue({ utf8String: options.sessionId }),
      }),
    ]),
  ]);
  const extension = (extnID: string, critical: boolean, value: unknown) =>
    new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });

  const serial = randomBytes(16);
  // A positive INTEGER in minimal DER: the first byte must be 0x01–0x7f.
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x01;
  const algorithm = new AlgorithmIdentifier({ algorithm: ED25519_OID });
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: serial.buffer.slice(serial.byteOffset, serial.byteOffset + serial.length),
    signature: algorithm,
    issuer: name,
    subject: name,
    validity: new Validity({
      notBefore: options.notBefore,
      notAfter: options.notAfter,
    }),
    subjectPublicKeyInfo: AsnConvert.parse(publicKey, SubjectPublicKeyInfo),
    extensions: new Extensions([
      extension(
        id_ce_keyUsage,
        true,
        new KeyUsage(
          KeyUsageFlags.digitalSignature |
            KeyUsageFlags.keyEncipherment |
            KeyUsageFlags.keyAgreement |
            KeyUsageFlags.keyCertSign,
        ),
      ),
      extension(
        id_ce_extKeyUsage,
        false,
        new ExtendedKeyUsage([id_kp_serverAuth, id_kp_clientAuth]),
      ),
      extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: true })),
      extension(id_ce_subjectAltName, false, new SubjectAlternativeName(names)),
    ]),
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  const signature = sign(null, tbsDer, { key: privateKey, format: 'der', type: 'pkcs8' });
  const cert = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: algorithm,
    signatureValue: signature.buffer.slice(
      signature.byteOffset,
      signature.byteOffset + signature.length,
    ),
  });
  return {
    certificate: new Uint8Array(AsnConvert.serialize(cert)),
    privateKey: new Uint8Array(Buffer.concat([seed, pub])),
  };
}
