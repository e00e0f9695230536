import { X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { AMAZON_TRUST_ROOT_FINGERPRINTS, amazonTrustRoots, kmsTrustAnchors } from '@nitro-datakey/enclave';

const subjectOf = (pem: string) => new X509Certificate(pem).subject.replace(/\n/g, ', ');

describe('TLS trust for KMS', () => {
  it("pins Amazon's roots (Amazon Root CA 1-4, Starfield Services Root G2), found in Node's bundle by fingerprint", () => {
    const roots = amazonTrustRoots();
    expect(roots).toHaveLength(AMAZON_TRUST_ROOT_FINGERPRINTS.length);
    const subjects = roots.map(subjectOf).sort();
    expect(subjects.filter((s) => /CN=Amazon Root CA [1-4]$/.test(s))).toHaveLength(4);
    expect(subjects.some((s) => s.includes('Starfield Services Root Certificate Authority - G2'))).toBe(true);
  });

  it("trusts nothing else of Node's bundle by default (a CA trusted by the system is not trusted for KMS)", () => {
    const anchors = kmsTrustAnchors();
    expect(rootCertificates.length).toBeGreaterThan(100);
    expect(anchors).toHaveLength(5);
    expect(rootCertificates.some((pem) => subjectOf(pem).includes('ISRG Root X1'))).toBe(true);
    expect(anchors.some((pem) => subjectOf(pem).includes('ISRG Root X1'))).toBe(false);
  });

  it('adds the CAs a caller gives (a local KMS, a VPC endpoint) beside the pinned roots', () => {
    const extra = rootCertificates.find((pem) => subjectOf(pem).includes('ISRG Root X1')) as string;
    expect(kmsTrustAnchors(extra)).toHaveLength(6);
    expect(kmsTrustAnchors([extra, extra])).toHaveLength(7);
  });
});
