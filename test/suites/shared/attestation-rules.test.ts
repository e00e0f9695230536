import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AttestationError,
  AttestationVerifier,
  decodeCoseSign1,
  encodeCbor,
  sigStructure1,
  toHex,
  verifyAttestation,
  type AttestationExpectations,
  type AttestationVerifierOptions,
} from '@nitro-datakey/shared';
import { encodeCoseSign1 } from '@nitro-datakey/shared/testing';
import { KeyUsageFlags, NitroPki, type NitroChain, X509Extension } from '@nitro-datakey/devkit';
import { sign } from 'node:crypto';
import { buildAttestationDocument, makePcrs, rawPayloadFields, signPayload, type DocumentSpec } from '../../support/index.js';

const BOOT = new Date('2026-06-01T12:00:00Z');
const NOW = new Date(BOOT.getTime() + 60_000);
const TIMESTAMP = BOOT.getTime() + 30_000;

let pki: NitroPki;
let chain: NitroChain;

beforeAll(async () => {
  pki = await NitroPki.create();
  chain = await pki.issueChain({ bootTime: BOOT });
});

function spec(extra: Partial<DocumentSpec> = {}): DocumentSpec {
  return { chain, timestamp: TIMESTAMP, ...extra };
}

function verifier(options: AttestationVerifierOptions = {}): AttestationVerifier {
  return new AttestationVerifier({ trustedRootFingerprints: [pki.rootFingerprint], clock: () => NOW, ...options });
}

function code(bytes: Uint8Array, expectations: AttestationExpectations = {}, options: AttestationVerifierOptions = {}): string {
  try {
    verifier(options).verify(bytes, expectations);
  } catch (e) {
    if (!(e instanceof AttestationError)) throw e;
    return e.code;
  }
  return 'OK';
}

/** Signs an arbitrary payload object with the leaf key. */
function signed(fields: Record<string, unknown>): Uint8Array {
  return signPayload(encodeCbor(fields), chain.leaf.keyPair.privateKey);
}

/** Rebuilds a COSE_Sign1 with one part replaced, keeping the rest (and so the old signature). */
function tamper(bytes: Uint8Array, change: (parts: { protectedBytes: Uint8Array; payload: Uint8Array; signature: Uint8Array }) => void): Uint8Array {
  const sign1 = decodeCoseSign1(bytes);
  const parts = { protectedBytes: sign1.protectedBytes, payload: sign1.payload, signature: sign1.signature };
  change(parts);
  return encodeCoseSign1({ ...parts, unprotectedHeader: new Map() });
}

/** A COSE_Sign1 whose protected header is `header`, correctly signed by the leaf over it. */
function signedWithHeader(header: Uint8Array): Uint8Array {
  const payload = decodeCoseSign1(buildAttestationDocument(spec())).payload;
  const signature = sign('sha384', sigStructure1(header, payload), { key: chain.leaf.keyPair.privateKey, dsaEncoding: 'ieee-p1363' });
  return encodeCoseSign1({ protectedBytes: header, unprotectedHeader: new Map(), payload, signature: new Uint8Array(signature) });
}

async function chainWith(overrides: Parameters<NitroPki['issueChain']>[0]['overrides']): Promise<NitroChain> {
  return pki.issueChain({ bootTime: BOOT, ...(overrides ? { overrides } : {}) });
}

describe('documents we build: the positive case', () => {
  it('verifies and returns the typed document', () => {
    const nonce = new Uint8Array(32).fill(7);
    const doc = verifier().verify(buildAttestationDocument(spec({ nonce, userData: new Uint8Array([1, 2]), publicKey: new Uint8Array(300).fill(9) })));
    expect(doc.moduleId).toMatch(/^i-/);
    expect(doc.timestamp).toBe(TIMESTAMP);
    expect(doc.pcrs.size).toBe(16);
    expect(doc.nonce).toEqual(nonce);
    expect(doc.debug).toBe(false);
    expect(doc.rootFingerprint).toBe(pki.rootFingerprint);
    expect(doc.leaf.subject).toContain('CN=');
  });

  it('reports debug mode when PCR0-2 are zero', () => {
    expect(verifier().verify(buildAttestationDocument(spec({ pcrs: makePcrs({ debug: true }) }))).debug).toBe(true);
  });

  it('verifyAttestation is the one-call form', () => {
    const doc = verifyAttestation(buildAttestationDocument(spec()), {
      trustedRootFingerprints: [pki.rootFingerprint],
      clock: () => NOW,
      pcrs: { 0: toHex(makePcrs().get(0) as Uint8Array) },
    });
    expect(doc.pcrs.get(0)).toEqual(makePcrs().get(0));
  });

  it('is rejected under the default AWS root with the chain code', () => {
    expect(() => new AttestationVerifier({ clock: () => NOW }).verify(buildAttestationDocument(spec()))).toThrow(
      expect.objectContaining({ code: 'ERR_ATTESTATION_CHAIN' }),
    );
  });
});

describe('COSE rules', () => {
  it('a tampered payload breaks the signature', () => {
    const bytes = tamper(buildAttestationDocument(spec()), (p) => {
      p.payload = new Uint8Array(p.payload);
      const at = Buffer.from(p.payload).indexOf('i-0123');
      p.payload[at + 2] = (p.payload[at + 2] as number) ^ 1;
    });
    expect(code(bytes)).toBe('ERR_ATTESTATION_SIGNATURE');
  });

  it('a tampered or truncated signature fails', () => {
    const good = buildAttestationDocument(spec());
    expect(
      code(
        tamper(good, (p) => {
          p.signature = new Uint8Array(p.signature);
          p.signature[10] = (p.signature[10] as number) ^ 0x80;
        }),
      ),
    ).toBe('ERR_ATTESTATION_SIGNATURE');
    expect(
      code(
        tamper(good, (p) => {
          p.signature = p.signature.subarray(0, 95);
        }),
      ),
    ).toBe('ERR_ATTESTATION_SIGNATURE');
  });

  it('a document signed by another key than the leaf fails', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    expect(code(buildAttestationDocument(spec({ signingKey: privateKey })))).toBe('ERR_ATTESTATION_SIGNATURE');
  });

  it('a re-encoded protected header is refused: a non-shortest integer is malformed CBOR here', () => {
    // {1: -35} with a non-minimal integer: same meaning, different bytes. The strict reader refuses it
    // before the signature is checked (it would not match either).
    const bytes = tamper(buildAttestationDocument(spec()), (p) => {
      p.protectedBytes = new Uint8Array([0xa1, 0x01, 0x39, 0x00, 0x22]);
    });
    expect(code(bytes)).toBe('ERR_ATTESTATION_MALFORMED');
  });

  it.each([
    ['ES256 (-7)', encodeCbor(new Map([[1, -7]]))],
    ['EdDSA (-8)', encodeCbor(new Map([[1, -8]]))],
    ['no algorithm', encodeCbor(new Map())],
    ['an empty protected header', new Uint8Array(0)],
    [
      'ES384 plus a crit parameter',
      encodeCbor(
        new Map<number, unknown>([
          [1, -35],
          [2, [1]],
        ]),
      ),
    ],
  ])('refuses %s even when correctly signed', (_name, header) => {
    expect(code(signedWithHeader(header))).toBe('ERR_ATTESTATION_ALGORITHM');
  });

  it('refuses structural damage as malformed', () => {
    const good = buildAttestationDocument(spec());
    expect(code(new Uint8Array([...good, 0x00]))).toBe('ERR_ATTESTATION_MALFORMED'); // trailing byte
    expect(code(good.subarray(0, good.length - 1))).toBe('ERR_ATTESTATION_MALFORMED');
    expect(code(encodeCbor([new Uint8Array(0), new Map(), new Uint8Array(0)]))).toBe('ERR_ATTESTATION_MALFORMED');
    expect(code(encodeCbor({ not: 'cose' }))).toBe('ERR_ATTESTATION_MALFORMED');
    expect(code(new Uint8Array([0xd1, ...good]))).toBe('ERR_ATTESTATION_MALFORMED'); // tag 17 is COSE_Mac0
    expect(code(good, {}, { maxDocumentBytes: 100 })).toBe('ERR_ATTESTATION_MALFORMED');
  });
});

describe('payload field rules', () => {
  const cases: Array<[string, (f: Record<string, unknown>) => void, string]> = [
    [
      'module_id empty',
      (f) => {
        f['module_id'] = '';
      },
      'ERR_ATTESTATION_MALFORMED',
    ],
    [
      'module_id not text',
      (f) => {
        f['module_id'] = new Uint8Array(3);
      },
      'ERR_ATTESTATION_MALFORMED',
    ],
    [
      'module_id missing',
      (f) => {
        delete f['module_id'];
      },
      'ERR_ATTESTATION_MALFORMED',
    ],
    [
      'digest SHA256',
      (f) => {
        f['digest'] = 'SHA256';
      },
      'ERR_ATTESTATION_MALFORMED',
    ],
    [
      'timestamp as text',
      (f) => {
        f['timestamp'] = '1700000000000';
      },
      'ERR_ATTESTATION_MALFORMED',
    ],
    [
      'timestamp negative',
      (f) => {
        f['timestamp'] = -1;
      },
      'ERR_ATTESTATION_MALFORMED',
    ],
    [
      'timestamp 0 (AWS requires it above zero)',
      (f) => {
        f['timestamp'] = 0;
      },
      'ERR_ATTESTATION_MALFORMED',
    ],
    [
      'timestamp missing',
      (f) => {
        delete f['timestamp'];
      },
      'ERR_ATTESTATION_MALFORMED',
    ],
    [
      'pcrs empty',
      (f) => {
        f['pcrs'] = new Map();
      },
      'ERR_ATTESTATION_MALFORMED',
    ],
    [
      'pcrs with 33 entries',
      (f) => {
        f['pcrs'] = new Map(Array.from({ length: 33 }, (_, i) => [i, new Uint8Array(48)]));
      },
      'ERR_ATTESTATION_MALFORMED',
    ],
    [
      'pcr index 32',
      (f) => {
        (f['pcrs'] as Map<number, Uint8Array>).set(32, new Uint8Array(48));
      },
      'ERR_ATTESTATION_MALFORMED',
    ],
    [
      'pcr index as text',
      (f) => {
        f['pcrs'] = new Map([['0', new Uint8Array(48)]]);
      },
      'ERR_ATTESTATION_MALFORMED',
    ],
    [
      'pcr of 47 bytes',
      (f) => {
        (f['pcrs'] as Map<number, Uint8Array>).set(3, new Uint8Array(47));
      },
      'ERR_ATTESTATION_MALFORMED',
    ],
    [
      'pcrs as an array',
      (f) => {
        f['pcrs'] = [new Uint8Array(48)];
      },
      'ERR_ATTESTATION_MALFORMED',
    ],
    [
      'certificate empty',
      (f) => {
        f['certificate'] = new Uint8Array(0);
      },
      'ERR_ATTESTATION_MALFORMED',
    ],
    [
      'certificate of 1025 bytes',
      (f) => {
        f['certificate'] = new Uint8Array(1025);
      },
      'ERR_ATTESTATION_MALFORMED',
    ],
    [
      'certificate as text',
      (f) => {
        f['certificate'] = 'MIIB';
      },
      'ERR_ATTESTATION_MALFORMED',
    ],
    [
      'cabundle empty',
      (f) => {
        f['cabundle'] = [];
      },
      'ERR_ATTESTATION_MALFORMED',
    ],
    [
      'cabundle not an array',
      (f) => {
        f['cabundle'] = new Uint8Array(10);
      },
      'ERR_ATTESTATION_MALFORMED',
    ],
    [
      'cabundle entry of 1025 bytes',
      (f) => {
        (f['cabundle'] as Uint8Array[]).push(new Uint8Array(1025));
      },
      'ERR_ATTESTATION_MALFORMED',
    ],
    [
      'cabundle of 17 entries',
      (f) => {
        f['cabundle'] = Array.from({ length: 17 }, () => chain.root.der);
      },
      'ERR_ATTESTATION_MALFORMED',
    ],
    [
      'public_key of 1025 bytes',
      (f) => {
        f['public_key'] = new Uint8Array(1025);
      },
      'ERR_ATTESTATION_MALFORMED',
    ],
    [
      'user_data of 1025 bytes',
      (f) => {
        f['user_data'] = new Uint8Array(1025);
      },
      'ERR_ATTESTATION_MALFORMED',
    ],
    [
      'nonce of 1025 bytes',
      (f) => {
        f['nonce'] = new Uint8Array(1025);
      },
      'ERR_ATTESTATION_MALFORMED',
    ],
    [
      'nonce as text',
      (f) => {
        f['nonce'] = 'abc';
      },
      'ERR_ATTESTATION_MALFORMED',
    ],
    [
      'an unknown field',
      (f) => {
        f['extra'] = 1;
      },
      'ERR_ATTESTATION_MALFORMED',
    ],
    [
      'optional fields absent entirely',
      (f) => {
        delete f['public_key'];
        delete f['user_data'];
        delete f['nonce'];
      },
      'OK',
    ],
    [
      'optional fields at their maximum sizes',
      (f) => {
        f['public_key'] = new Uint8Array(1024);
        // 1024 each: what the device accepts and AWS's nsm-test sends (the spec's prose says 512).
        f['user_data'] = new Uint8Array(1024);
        f['nonce'] = new Uint8Array(1024);
      },
      'OK',
    ],
    [
      'empty user_data and nonce',
      (f) => {
        f['user_data'] = new Uint8Array(0);
        f['nonce'] = new Uint8Array(0);
      },
      'OK',
    ],
    [
      '32- and 64-byte PCRs',
      (f) => {
        (f['pcrs'] as Map<number, Uint8Array>).set(16, new Uint8Array(32)).set(17, new Uint8Array(64));
      },
      'OK',
    ],
  ];

  it.each(cases)('%s', (_name, change, expected) => {
    const fields = rawPayloadFields(spec());
    change(fields);
    expect(code(signed(fields))).toBe(expected);
  });

  it('an oversized public_key in a signed document is refused without a crash', () => {
    expect(code(signed({ ...rawPayloadFields(spec()), public_key: new Uint8Array(5000) }), {}, { maxDocumentBytes: 20_000 })).toBe('ERR_ATTESTATION_MALFORMED');
  });

  it('refuses a payload that is not a map, or has trailing bytes or duplicate keys', () => {
    const key = chain.leaf.keyPair.privateKey;
    expect(code(signPayload(encodeCbor([1, 2]), key))).toBe('ERR_ATTESTATION_MALFORMED');
    const payload = encodeCbor(rawPayloadFields(spec()));
    expect(code(signPayload(new Uint8Array([...payload, 0x01]), key))).toBe('ERR_ATTESTATION_MALFORMED');
    // Same key twice: re-encode the map header with one more entry and append a second "nonce".
    const dup = new Uint8Array([0xaa, ...payload.subarray(1), ...encodeCbor('nonce'), 0xf6]);
    expect(code(signPayload(dup, key))).toBe('ERR_ATTESTATION_MALFORMED');
  });
});

describe('certificate chain rules', () => {
  it('refuses a cabundle out of order', () => {
    const fields = rawPayloadFields(spec());
    fields['cabundle'] = [...chain.cabundle].reverse();
    expect(code(signed(fields))).toBe('ERR_ATTESTATION_CHAIN');
    fields['cabundle'] = [chain.root.der, chain.zonal.der, chain.regional.der, chain.instance.der];
    expect(code(signed(fields))).toBe('ERR_ATTESTATION_CHAIN');
  });

  it('refuses a missing intermediate', () => {
    const fields = rawPayloadFields(spec());
    fields['cabundle'] = [chain.root.der, chain.regional.der, chain.instance.der];
    expect(code(signed(fields))).toBe('ERR_ATTESTATION_CHAIN');
  });

  it('refuses an extra certificate', async () => {
    const other = await pki.issueChain({ bootTime: BOOT });
    const fields = rawPayloadFields(spec());
    fields['cabundle'] = [...chain.cabundle, other.instance.der];
    expect(code(signed(fields))).toBe('ERR_ATTESTATION_CHAIN');
  });

  it('refuses a chain under a foreign root, and a leaf swapped in from another chain', async () => {
    const foreign = await (await NitroPki.create()).issueChain({ bootTime: BOOT });
    expect(code(buildAttestationDocument(spec({ chain: foreign })))).toBe('ERR_ATTESTATION_CHAIN');
    const mixed = { ...chain, leaf: foreign.leaf };
    expect(code(buildAttestationDocument(spec({ chain: mixed })))).toBe('ERR_ATTESTATION_CHAIN');
  });

  it('checks validity at the clock: not yet valid, valid, expired', () => {
    const bytes = buildAttestationDocument(spec());
    const at = (t: number) => code(bytes, {}, { clock: () => new Date(t) });
    expect(at(BOOT.getTime() - 1)).toBe('ERR_ATTESTATION_CERT_NOT_YET_VALID');
    expect(at(BOOT.getTime())).toBe('OK');
    expect(at(BOOT.getTime() + 3 * 3_600_000)).toBe('OK');
    expect(at(BOOT.getTime() + 3 * 3_600_000 + 1000)).toBe('ERR_ATTESTATION_CERT_EXPIRED');
    expect(code(bytes, {}, { clock: () => new Date(BOOT.getTime() - 1000), clockToleranceMs: 5000 })).toBe('OK');
  });

  it('refuses an expired intermediate under a valid leaf', async () => {
    const c = await chainWith({ instance: { notAfter: new Date(BOOT.getTime() + 30_000) } });
    expect(code(buildAttestationDocument(spec({ chain: c })))).toBe('ERR_ATTESTATION_CERT_EXPIRED');
  });

  it('requires cA=TRUE on every CA', async () => {
    expect(code(buildAttestationDocument(spec({ chain: await chainWith({ instance: { basicConstraints: { ca: false } } }) })))).toBe(
      'ERR_ATTESTATION_CERT_CONSTRAINTS',
    );
    const noBc = await chainWith({ zonal: { basicConstraints: undefined as never } });
    expect(code(buildAttestationDocument(spec({ chain: noBc })))).toBe('ERR_ATTESTATION_CERT_CONSTRAINTS');
  });

  it('refuses a leaf that says cA=TRUE (AWS: the leaf is no CA), accepts one without basicConstraints', async () => {
    const caLeaf = await chainWith({ leaf: { basicConstraints: { ca: true } } });
    expect(code(buildAttestationDocument(spec({ chain: caLeaf })))).toBe('ERR_ATTESTATION_CERT_CONSTRAINTS');
    const noBc = await chainWith({ leaf: { basicConstraints: undefined as never } });
    expect(code(buildAttestationDocument(spec({ chain: noBc })))).toBe('OK');
  });

  it('respects pathLenConstraint', async () => {
    const tight = await chainWith({ regional: { basicConstraints: { ca: true, pathLength: 1 } } });
    expect(code(buildAttestationDocument(spec({ chain: tight })))).toBe('ERR_ATTESTATION_CERT_CONSTRAINTS');
    const zonalZero = await chainWith({ zonal: { basicConstraints: { ca: true, pathLength: 0 } } });
    expect(code(buildAttestationDocument(spec({ chain: zonalZero })))).toBe('ERR_ATTESTATION_CERT_CONSTRAINTS');
    const loose = await chainWith({ regional: { basicConstraints: { ca: true } } });
    expect(code(buildAttestationDocument(spec({ chain: loose })))).toBe('OK');
  });

  it('requires keyCertSign on CAs and digitalSignature on the leaf', async () => {
    const noCertSign = await chainWith({ instance: { keyUsage: KeyUsageFlags.digitalSignature } });
    expect(code(buildAttestationDocument(spec({ chain: noCertSign })))).toBe('ERR_ATTESTATION_CERT_CONSTRAINTS');
    const noKu = await chainWith({ leaf: { keyUsage: undefined as never } });
    expect(code(buildAttestationDocument(spec({ chain: noKu })))).toBe('ERR_ATTESTATION_CERT_CONSTRAINTS');
    const leafNoSig = await chainWith({ leaf: { keyUsage: KeyUsageFlags.keyEncipherment } });
    expect(code(buildAttestationDocument(spec({ chain: leafNoSig })))).toBe('ERR_ATTESTATION_CERT_CONSTRAINTS');
  });

  it('refuses unsupported certificate algorithms and unknown critical extensions', async () => {
    const sha256 = await chainWith({ zonal: { signatureHash: 'SHA-256' } });
    expect(code(buildAttestationDocument(spec({ chain: sha256 })))).toBe('ERR_ATTESTATION_CERTIFICATE');
    const critical = await chainWith({ leaf: { extraExtensions: [new X509Extension('1.3.6.1.4.1.99999.1', true, new Uint8Array([5, 0]))] } });
    expect(code(buildAttestationDocument(spec({ chain: critical })))).toBe('ERR_ATTESTATION_CERTIFICATE');
    const nonCritical = await chainWith({ leaf: { extraExtensions: [new X509Extension('1.3.6.1.4.1.99999.1', false, new Uint8Array([5, 0]))] } });
    expect(code(buildAttestationDocument(spec({ chain: nonCritical })))).toBe('OK');
  });

  it('refuses an unparseable certificate', () => {
    const fields = rawPayloadFields(spec());
    fields['certificate'] = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]);
    expect(code(signed(fields))).toBe('ERR_ATTESTATION_CERTIFICATE');
  });
});

describe('caller expectations', () => {
  const pcrs = makePcrs();
  const nonce = new Uint8Array(20).fill(1);
  const userData = new Uint8Array([1, 2, 3]);
  const publicKey = new Uint8Array(294).fill(4);

  it('PCRs: equal passes, different or absent fails', () => {
    const bytes = buildAttestationDocument(spec({ pcrs }));
    expect(code(bytes, { pcrs: { 0: pcrs.get(0) as Uint8Array, 8: toHex(pcrs.get(8) as Uint8Array) } })).toBe('OK');
    expect(code(bytes, { pcrs: new Map([[0, new Uint8Array(48)]]) })).toBe('ERR_ATTESTATION_PCR_MISMATCH');
    expect(code(bytes, { pcrs: { 20: new Uint8Array(48) } })).toBe('ERR_ATTESTATION_PCR_MISMATCH');
  });

  it('nonce, user data, public key', () => {
    const bytes = buildAttestationDocument(spec({ nonce, userData, publicKey }));
    expect(code(bytes, { nonce, userData, publicKey })).toBe('OK');
    expect(code(bytes, { publicKey: true })).toBe('OK');
    expect(code(bytes, { nonce: new Uint8Array(20) })).toBe('ERR_ATTESTATION_NONCE_MISMATCH');
    expect(code(bytes, { userData: new Uint8Array([1, 2]) })).toBe('ERR_ATTESTATION_USER_DATA_MISMATCH');
    expect(code(bytes, { publicKey: new Uint8Array(294) })).toBe('ERR_ATTESTATION_PUBLIC_KEY_MISMATCH');
    const bare = buildAttestationDocument(spec());
    expect(code(bare, { nonce })).toBe('ERR_ATTESTATION_NONCE_MISMATCH');
    expect(code(bare, { userData })).toBe('ERR_ATTESTATION_USER_DATA_MISMATCH');
    expect(code(bare, { publicKey: true })).toBe('ERR_ATTESTATION_PUBLIC_KEY_MISMATCH');
  });

  it('maximum age against the clock', () => {
    const bytes = buildAttestationDocument(spec());
    expect(code(bytes, { maxAgeMs: 30_000 })).toBe('OK');
    expect(code(bytes, { maxAgeMs: 29_999 })).toBe('ERR_ATTESTATION_STALE');
    expect(code(bytes, { maxAgeMs: 60_000 }, { clock: () => new Date(TIMESTAMP - 1) })).toBe('ERR_ATTESTATION_FUTURE');
  });

  it('debug mode denied on request only', () => {
    const debugDoc = buildAttestationDocument(spec({ pcrs: makePcrs({ debug: true }) }));
    expect(code(debugDoc)).toBe('OK');
    expect(code(debugDoc, { denyDebug: true })).toBe('ERR_ATTESTATION_DEBUG_MODE');
    expect(code(buildAttestationDocument(spec()), { denyDebug: true })).toBe('OK');
  });

  it('refuses bad options with ERR_INVALID_ARGUMENT', () => {
    expect(() => new AttestationVerifier({ trustedRootFingerprints: ['abc'] })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => new AttestationVerifier({ trustedRootFingerprints: [] })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => verifier().verify(buildAttestationDocument(spec()), { pcrs: { 0: 'zz' } })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });
});

describe('the certificate cache', () => {
  it('serves a second document from a known chain and still checks validity against the clock', () => {
    let now = NOW.getTime();
    const v = new AttestationVerifier({ trustedRootFingerprints: [pki.rootFingerprint], clock: () => new Date(now) });
    v.verify(buildAttestationDocument(spec()));
    expect(v.cachedCertificates).toBe(5);
    v.verify(buildAttestationDocument(spec({ nonce: new Uint8Array(8) })));
    expect(v.cachedCertificates).toBe(5);
    now = BOOT.getTime() + 3 * 3_600_000 + 60_000;
    expect(() => v.verify(buildAttestationDocument(spec()))).toThrow(expect.objectContaining({ code: 'ERR_ATTESTATION_CERT_EXPIRED' }));
  });

  it('does not carry a verified link over to another issuer', async () => {
    const v = verifier();
    v.verify(buildAttestationDocument(spec()));
    const other = await pki.issueChain({ bootTime: BOOT });
    const fields = rawPayloadFields(spec());
    fields['cabundle'] = [chain.root.der, other.regional.der, other.zonal.der, other.instance.der];
    expect(() => v.verify(signed(fields))).toThrow(expect.objectContaining({ code: 'ERR_ATTESTATION_CHAIN' }));
  });

  it('stays within its bound and verifies correctly when evicting', () => {
    const v = verifier({ maxCachedCertificates: 2 });
    for (let i = 0; i < 3; i++) v.verify(buildAttestationDocument(spec()));
    expect(v.cachedCertificates).toBe(2);
    expect(verifier({ maxCachedCertificates: 0 }).verify(buildAttestationDocument(spec())).moduleId).toMatch(/^i-/);
  });
});
