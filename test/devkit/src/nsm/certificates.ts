import { createHash, webcrypto } from 'node:crypto';
import { x509 } from '../x509.js';
import type { P384KeyPair } from './keys.js';
import { InvalidArgumentError } from '@nitro-datakey/shared';

const ECDSA_P384 = { name: 'ECDSA', namedCurve: 'P-384' } as const;

/** A raw X.509 extension, for tests that add unusual ones. */
export const X509Extension = x509.Extension;

/** X.509 KeyUsage flags, as @peculiar/x509 numbers them. */
export const KeyUsageFlags = x509.KeyUsageFlags;

export interface IssuedCertificate {
  readonly der: Uint8Array;
  readonly subject: string;
  readonly keyPair: P384KeyPair;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export interface CertificateSpec {
  readonly subject: string;
  readonly keyPair: P384KeyPair;
  /** Omitted: self-signed. */
  readonly issuer?: IssuedCertificate;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Omitted: no basicConstraints extension at all. */
  readonly basicConstraints?: { readonly ca: boolean; readonly pathLength?: number };
  /** KeyUsage flags; omitted: no keyUsage extension. */
  readonly keyUsage?: number;
  readonly keyUsageCritical?: boolean;
  readonly serialNumber?: string;
  readonly extraExtensions?: readonly x509.Extension[];
  /** Hash of the ECDSA signature; AWS uses SHA-384. */
  readonly signatureHash?: 'SHA-256' | 'SHA-384';
}

/** Issues one certificate with the extension layout AWS's Nitro PKI uses. */
export async function issueCertificate(spec: CertificateSpec): Promise<IssuedCertificate> {
  const publicKey = await importPublic(spec.keyPair);
  const signer = spec.issuer ?? { subject: spec.subject, keyPair: spec.keyPair, notBefore: spec.notBefore, notAfter: spec.notAfter };
  const signingKey = await webcrypto.subtle.importKey('pkcs8', signer.keyPair.privateKey.export({ format: 'der', type: 'pkcs8' }), ECDSA_P384, false, ['sign']);
  const extensions: x509.Extension[] = [];
  if (spec.basicConstraints) {
    extensions.push(new x509.BasicConstraintsExtension(spec.basicConstraints.ca, spec.basicConstraints.pathLength, true));
  }
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(publicKey));
  if (spec.issuer) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(await importPublic(spec.issuer.keyPair)));
  if (spec.keyUsage !== undefined) extensions.push(new x509.KeyUsagesExtension(spec.keyUsage, spec.keyUsageCritical ?? true));
  extensions.push(...(spec.extraExtensions ?? []));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: spec.serialNumber ?? serialFor(spec),
    subject: spec.subject,
    // The issuer's own encoded subject, so names link byte for byte however the issuer was loaded.
    issuer: spec.issuer ? new x509.X509Certificate(spec.issuer.der).subjectName : spec.subject,
    notBefore: spec.notBefore,
    notAfter: spec.notAfter,
    signingAlgorithm: { name: 'ECDSA', hash: spec.signatureHash ?? 'SHA-384' },
    publicKey,
    signingKey,
    extensions,
  });
  return { der: new Uint8Array(cert.rawData), subject: spec.subject, keyPair: spec.keyPair, notBefore: cert.notBefore, notAfter: cert.notAfter };
}

export function certificateToPem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`;
}

export function pemToDer(pem: string): Uint8Array {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem);
  if (!m?.[1]) throw new InvalidArgumentError('no PEM certificate found');
  return new Uint8Array(Buffer.from(m[1].replace(/\s+/g, ''), 'base64'));
}

type WebCryptoKey = webcrypto.CryptoKey;

async function importPublic(keyPair: P384KeyPair): Promise<WebCryptoKey> {
  return await webcrypto.subtle.importKey('spki', keyPair.publicKey.export({ format: 'der', type: 'spki' }), ECDSA_P384, true, ['verify']);
}

/** A positive 16-byte serial derived from the subject key and time, so seeded PKIs are reproducible. */
function serialFor(spec: CertificateSpec): string {
  const h = createHash('sha256')
    .update(spec.keyPair.publicKey.export({ format: 'der', type: 'spki' }))
    .update(String(spec.notBefore.getTime()))
    .digest();
  h[0] = (h[0] as number) & 0x7f;
  return h.subarray(0, 16).toString('hex');
}
