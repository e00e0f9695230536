import { createHash } from 'node:crypto';
import { toHex } from '@nitro-datakey/shared/bytes';
import { isDebugMode, type AttestationDocument } from '@nitro-datakey/shared/attestation';
import { parseCertificate } from '@nitro-datakey/shared/x509';

/** The JSON shape `verify --json` and `inspect --json` print for a document. */
export interface AttestationDocumentJson {
  moduleId: string;
  timestamp: string;
  digest: string;
  pcrs: Record<string, string>;
  publicKey: string | null;
  userData: string | null;
  nonce: string | null;
  debug: boolean;
  certificate: { subject: string; issuer: string; notBefore: string; notAfter: string; fingerprint: string } | null;
  cabundleLength: number;
}

export function attestationToJson(doc: AttestationDocument): AttestationDocumentJson {
  let certificate: AttestationDocumentJson['certificate'] = null;
  try {
    const leaf = parseCertificate(doc.certificate);
    certificate = {
      subject: leaf.subjectName,
      issuer: leaf.issuerName,
      notBefore: new Date(leaf.notBefore).toISOString(),
      notAfter: new Date(leaf.notAfter).toISOString(),
      fingerprint: createHash('sha256').update(doc.certificate).digest('hex'),
    };
  } catch {
    // inspect shows undecodable leaves as null; verify never gets here with one
  }
  return {
    moduleId: doc.moduleId,
    timestamp: new Date(doc.timestamp).toISOString(),
    digest: doc.digest,
    pcrs: Object.fromEntries([...doc.pcrs.entries()].sort(([a], [b]) => a - b).map(([i, v]) => [String(i), toHex(v)])),
    publicKey: doc.publicKey && toHex(doc.publicKey),
    userData: doc.userData && toHex(doc.userData),
    nonce: doc.nonce && toHex(doc.nonce),
    debug: isDebugMode(doc),
    certificate,
    cabundleLength: doc.cabundle.length,
  };
}

export function attestationToText(json: AttestationDocumentJson): string {
  const lines = [
    `  module id:   ${json.moduleId}`,
    `  timestamp:   ${json.timestamp}`,
    `  digest:      ${json.digest}`,
    `  debug mode:  ${json.debug ? 'yes (PCR0-2 are zero: measurements mean nothing)' : 'no'}`,
    ...Object.entries(json.pcrs).map(([i, v]) => `  PCR${i.padEnd(2)}       ${v}`),
    `  public key:  ${json.publicKey ?? '(none)'}`,
    `  user data:   ${json.userData ?? '(none)'}`,
    `  nonce:       ${json.nonce ?? '(none)'}`,
  ];
  if (json.certificate) {
    lines.push(`  leaf:        ${json.certificate.subject}`, `               valid ${json.certificate.notBefore} to ${json.certificate.notAfter}`);
  }
  return `${lines.join('\n')}\n`;
}
