import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { CertificateError, decodeAttestation, KeyUsage, parseCertificate } from '@nitro-datakey/shared';
import { NitroPki } from '@nitro-datakey/devkit';
import { readVector, vectorsSkipReason } from '../../support/index.js';

const files = ['nitrite_2021.cbor', 'evervault_ga.cbor', 'signal_svr2_2.cbor', 'base_nitro_validator_2026_repaired.cbor'];

// The suite's body runs at collection even when skipped: read the vectors only when they are there.
const skip = vectorsSkipReason(...files.map((f) => `attestation/${f}`));
describe.skipIf(skip !== undefined)(`our X.509 reader agrees with @peculiar/x509 on real AWS certificates${skip ? ` (SKIPPED: ${skip})` : ''}`, () => {
  const certs = (skip ? [] : files).flatMap((f) => {
    const { document } = decodeAttestation(readVector(`attestation/${f}`));
    return [document.certificate, ...document.cabundle];
  });

  // With no vectors, one skipped entry keeps the suite visible in the report as skipped.
  if (certs.length === 0) it.skip('every certificate of the vector documents', () => undefined);
  it.each(certs.map((der, i) => [i, der] as const))('certificate %i', (_i, der) => {
    const ours = parseCertificate(der);
    const oracle = new x509.X509Certificate(der);
    expect(ours.subjectName).toBe(oracle.subject);
    expect(ours.issuerName).toBe(oracle.issuer);
    expect(ours.notBefore).toBe(oracle.notBefore.getTime());
    expect(ours.notAfter).toBe(oracle.notAfter.getTime());
    expect(ours.serialNumber).toBe(oracle.serialNumber.toLowerCase());
    const bc = oracle.getExtension(x509.BasicConstraintsExtension);
    expect(ours.basicConstraints?.ca ?? false).toBe(bc?.ca ?? false);
    expect(ours.basicConstraints?.pathLength).toBe(bc?.pathLength);
    const ku = oracle.getExtension(x509.KeyUsagesExtension);
    expect(ours.keyUsage).toBe(ku?.usages);
  });
});

describe('X.509 reader strictness', () => {
  it('maps KeyUsage bits like RFC 5280', () => {
    expect(KeyUsage.digitalSignature).toBe(x509.KeyUsageFlags.digitalSignature);
    expect(KeyUsage.keyCertSign).toBe(x509.KeyUsageFlags.keyCertSign);
    expect(KeyUsage.cRLSign).toBe(x509.KeyUsageFlags.cRLSign);
  });

  it('refuses BER (indefinite lengths) and trailing bytes in a certificate', () => {
    const der = readRoot();
    expect(() => parseCertificate(new Uint8Array([...der, 0]))).toThrow(CertificateError);
    const ber = new Uint8Array([0x30, 0x80, ...der.subarray(4), 0, 0]); // root's outer header is 30 82 xx xx
    expect(() => parseCertificate(ber)).toThrow(expect.objectContaining({ code: 'ERR_CERTIFICATE_MALFORMED' }));
  });

  it('never throws anything but CertificateError on truncated or flipped input', () => {
    const der = readRoot();
    for (let i = 1; i < der.length; i += 7) {
      const flipped = der.slice();
      flipped[i] = (flipped[i] as number) ^ 0xff;
      for (const input of [der.subarray(0, i), flipped]) {
        try {
          parseCertificate(input);
        } catch (e) {
          expect(e).toBeInstanceOf(CertificateError);
        }
      }
    }
  });
});

// The AWS root when the vectors are present, else a simulated Nitro root of the same shape (P-384,
// DER with a two-byte length): these two tests never need to skip.
let simulatedRoot: Uint8Array | undefined;
beforeAll(async () => {
  if (vectorsSkipReason('root/root.der') !== undefined) simulatedRoot = (await NitroPki.create()).root.der;
});

function readRoot(): Uint8Array {
  return simulatedRoot ?? readVector('root/root.der');
}
