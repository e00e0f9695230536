import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AttestationVerifier,
  decodeAttestation,
  decodeNsmResponse,
  decryptCiphertextForRecipient,
  encodeNsmRequest,
  type KmsRequestBody,
  KmsServiceException,
  NitroDatakeyError,
  type NsmRequest,
  parseCiphertextForRecipient,
  parseDecryptRequest,
  parseGenerateDataKeyPairRequest,
  parseGenerateDataKeyRequest,
  parseGenerateRandomRequest,
} from '@nitro-datakey/shared';
import { buildCiphertextForRecipient, decodeNsmRequest, encodeNsmResponse } from '@nitro-datakey/shared/testing';
import { NitroPki } from '@nitro-datakey/devkit';
import { readVector, vectorsDir, vectorsSkipReason, buildAttestationDocument } from '../../support/index.js';

/*
 * Property-based fuzzing of every parser that reads what an adversary sends: the attestation verifier,
 * the CMS reader, the NSM codec and the KMS request readers. Inputs are mutations of real vectors (when
 * ../shared/vectors is there; simulated documents otherwise) and arbitrary values. The property: an
 * input either succeeds with a result equivalent to the original, or fails with one of our typed errors
 * (a NitroDatakeyError with an ERR_ code); never a crash, a hang or an untyped exception.
 * Seeded, so a failure reproduces; bounded, so the suite stays within CI's time.
 */
const SEED = 20261123;
const tried: Record<string, number> = {};

afterAll(() => {
  // The number of inputs each target was run on, for the record (the closing note quotes it).
  console.log(`fuzz inputs tried: ${JSON.stringify(tried)}`);
});

function typedOrOk(target: string, run: () => void): boolean {
  tried[target] = (tried[target] ?? 0) + 1;
  try {
    run();
    return true;
  } catch (e) {
    if (e instanceof NitroDatakeyError && /^ERR_[A-Z0-9_]+$/.test(e.code)) return true;
    throw new Error(`${target}: untyped failure ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`, { cause: e });
  }
}

/** One mutation of `bytes`: flip bits, truncate, insert, delete, splice or overwrite a run. */
const mutation = (bytes: Uint8Array) =>
  fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(bytes.length - 1), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(bytes.length - 1) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(bytes.length), data: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(bytes.length - 1), count: fc.integer({ min: 1, max: 16 }) }),
    fc.record({ kind: fc.constant('overwrite' as const), at: fc.nat(bytes.length - 1), data: fc.uint8Array({ minLength: 1, maxLength: 9 }) }),
  );

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; data: Uint8Array }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'overwrite'; at: number; data: Uint8Array };

function apply(bytes: Uint8Array, mutation: Mutation): Uint8Array {
  const b = Buffer.from(bytes);
  // Positions were drawn for the original; earlier mutations may have shortened it.
  const m = { ...mutation, at: Math.min(mutation.at, Math.max(0, b.length - 1)) } as Mutation;
  switch (m.kind) {
    case 'flip':
      b[m.at] = (b[m.at] as number) ^ (1 << m.bit);
      return new Uint8Array(b);
    case 'truncate':
      return new Uint8Array(b.subarray(0, m.at));
    case 'insert':
      return new Uint8Array(Buffer.concat([b.subarray(0, m.at), m.data, b.subarray(m.at)]));
    case 'delete':
      return new Uint8Array(Buffer.concat([b.subarray(0, m.at), b.subarray(m.at + m.count)]));
    case 'overwrite':
      b.set(m.data.subarray(0, Math.max(0, b.length - m.at)), m.at);
      return new Uint8Array(b);
  }
}

/** A seeded corpus entry and up to three stacked mutations of it. */
const mutated = (corpus: readonly Uint8Array[]) =>
  fc.nat(corpus.length - 1).chain((i) => {
    const base = corpus[i] as Uint8Array;
    return fc
      .array(mutation(base), { minLength: 1, maxLength: 3 })
      .map((ms) => ms.reduce((bytes, m) => (bytes.length === 0 ? bytes : apply(bytes, m as Mutation)), base));
  });

describe('fuzz: the attestation verifier', () => {
  const skip = vectorsSkipReason();
  let corpus: { bytes: Uint8Array; at: number; moduleId: string }[] = [];
  let roots: string[] = [];

  beforeAll(async () => {
    if (skip === undefined) {
      const index = JSON.parse(readFileSync(join(vectorsDir(), 'attestation', 'index.json'), 'utf8')) as Array<{
        file: string;
        timestamp_ms?: number;
        valid_at_timestamp?: boolean;
        module_id?: string;
      }>;
      corpus = index
        .filter((e) => e.valid_at_timestamp && e.timestamp_ms !== undefined)
        .map((e) => ({ bytes: readVector(`attestation/${e.file}`), at: e.timestamp_ms as number, moduleId: e.module_id as string }));
    } else {
      // Without the real vectors: simulated documents of the same layout, under a simulated root.
      const pki = await NitroPki.create();
      const boot = Date.UTC(2026, 0, 1);
      const chain = await pki.issueChain({ bootTime: new Date(boot) });
      roots = [pki.rootFingerprint];
      corpus = [
        {
          bytes: buildAttestationDocument({ chain, timestamp: boot + 1000, moduleId: 'i-0123456789abcdef0-enc0123456789abcdef' }),
          at: boot + 1000,
          moduleId: 'i-0123456789abcdef0-enc0123456789abcdef',
        },
      ];
    }
  });

  it(`mutated documents verify to the same document or fail with a typed error${skip ? ' (on simulated documents: the real vectors are missing)' : ''}`, () => {
    expect(corpus.length).toBeGreaterThan(0);
    const verifiers = corpus.map((c) => new AttestationVerifier({ clock: () => new Date(c.at), ...(roots.length ? { trustedRootFingerprints: roots } : {}) }));
    fc.assert(
      fc.property(
        fc.nat(corpus.length - 1).chain((i) => fc.tuple(fc.constant(i), mutated([corpus[i]?.bytes as Uint8Array]))),
        ([i, bytes]) =>
          typedOrOk('attestation verifier', () => {
            const doc = (verifiers[i] as AttestationVerifier).verify(bytes);
            // Accepted: it must be the same document (a signature covers every field that matters).
            expect(doc.moduleId).toBe(corpus[i]?.moduleId);
            expect(doc.timestamp).toBe(corpus[i]?.at);
          }),
      ),
      { seed: SEED, numRuns: 1500 },
    );
  });

  it('arbitrary bytes decode or fail typed', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), (bytes) => typedOrOk('attestation decode (random)', () => decodeAttestation(bytes))),
      { seed: SEED, numRuns: 2000 },
    );
  });
});

describe('fuzz: the CMS reader (CiphertextForRecipient)', () => {
  let corpus: { ber: Uint8Array; key: KeyObject; plaintext: Uint8Array }[] = [];

  beforeAll(() => {
    const real = ['aws-samples-nitro-enclave-blockchain-wallet-on-eks', 'edgebitio-nitro-enclaves-sdk-go'];
    for (const name of real) {
      const dir = join(vectorsDir(), 'cms', name);
      if (!existsSync(join(dir, 'rsa_private_key_pkcs8.pem')) && !existsSync(join(dir, 'rsa_private_key_pkcs1.pem'))) continue;
      const pem = readFileSync(
        join(dir, existsSync(join(dir, 'rsa_private_key_pkcs8.pem')) ? 'rsa_private_key_pkcs8.pem' : 'rsa_private_key_pkcs1.pem'),
        'utf8',
      );
      corpus.push({
        ber: readVector(`cms/${name}/ciphertext_for_recipient.ber`),
        key: createPrivateKey(pem),
        plaintext: new Uint8Array(Buffer.from(readFileSync(join(dir, 'expected_plaintext.hex'), 'utf8').trim(), 'hex')),
      });
    }
    // Our own builder's output joins the corpus either way (the real samples when present).
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const plaintext = new Uint8Array(32).fill(7);
    corpus = [...corpus, { ber: buildCiphertextForRecipient(plaintext, publicKey), key: privateKey, plaintext }];
  });

  it('mutated CiphertextForRecipient decrypts to bytes or fails with a typed error', () => {
    let garbled = 0;
    fc.assert(
      fc.property(
        fc.nat(corpus.length - 1).chain((i) => fc.tuple(fc.constant(i), mutated([corpus[i]?.ber as Uint8Array]))),
        ([i, bytes]) =>
          typedOrOk('cms decrypt', () => {
            const c = corpus[i] as { key: KeyObject; plaintext: Uint8Array };
            const out = decryptCiphertextForRecipient(bytes, c.key);
            expect(out).toBeInstanceOf(Uint8Array);
            // AES-CBC has no integrity: a changed content block can decrypt, with valid padding, to other
            // bytes. CMS cannot refuse that; it is why the client checks every answer's length and spec,
            // and why the bytes travel inside TLS. Counted here, not refused.
            if (Buffer.compare(Buffer.from(out), Buffer.from(c.plaintext)) !== 0) garbled++;
          }),
      ),
      { seed: SEED, numRuns: 1500 },
    );
    tried['cms decrypt: decrypted to other bytes (no CBC integrity)'] = garbled;
  });

  it('arbitrary bytes parse or fail typed', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 400 }), (bytes) => typedOrOk('cms parse (random)', () => parseCiphertextForRecipient(bytes))),
      { seed: SEED, numRuns: 2000 },
    );
  });
});

describe('fuzz: the NSM codec', () => {
  const requests: NsmRequest[] = [
    { type: 'DescribeNSM' },
    { type: 'GetRandom' },
    { type: 'DescribePCR', index: 16 },
    { type: 'ExtendPCR', index: 17, data: new Uint8Array([1, 2, 3]) },
    { type: 'LockPCR', index: 20 },
    { type: 'LockPCRs', range: 24 },
    { type: 'Attestation', userData: new Uint8Array([1]), nonce: new Uint8Array(32), publicKey: null },
  ];
  const requestBytes = requests.map((r) => encodeNsmRequest(r));
  const responseBytes = [
    encodeNsmResponse({ type: 'GetRandom', random: new Uint8Array(32).fill(9) }),
    encodeNsmResponse({ type: 'DescribePCR', lock: true, data: new Uint8Array(48) }),
    encodeNsmResponse({ type: 'Error', error: 'ReadOnlyIndex' }),
    encodeNsmResponse({ type: 'Attestation', document: new Uint8Array(64).fill(1) }),
    encodeNsmResponse({
      type: 'DescribeNSM',
      versionMajor: 1,
      versionMinor: 0,
      versionPatch: 0,
      moduleId: 'i-0123456789abcdef0-enc0123456789abcdef',
      maxPcrs: 32,
      lockedPcrs: [0, 1, 2],
      digest: 'SHA384',
    }),
  ];

  it('mutated requests and responses decode to a stable value or fail with a typed error', () => {
    fc.assert(
      fc.property(mutated(requestBytes), (bytes) =>
        typedOrOk('nsm request decode', () => {
          const once = decodeNsmRequest(bytes);
          expect(decodeNsmRequest(encodeNsmRequest(once))).toEqual(once); // what decodes re-encodes to the same meaning
        }),
      ),
      { seed: SEED, numRuns: 1500 },
    );
    fc.assert(
      fc.property(mutated(responseBytes), (bytes) =>
        typedOrOk('nsm response decode', () => {
          const once = decodeNsmResponse(bytes);
          expect(decodeNsmResponse(encodeNsmResponse(once))).toEqual(once);
        }),
      ),
      { seed: SEED, numRuns: 1500 },
    );
  });
});

describe("fuzz: the KMS request readers (the local KMS's and the gateway's)", () => {
  const valid: KmsRequestBody[] = [
    { KeyId: 'alias/app', KeySpec: 'AES_256', EncryptionContext: { a: 'b' }, GrantTokens: ['t'] },
    { CiphertextBlob: 'AQIDBA==', EncryptionContext: { a: 'b' }, KeyId: 'alias/app' },
    { KeyId: 'alias/app', KeyPairSpec: 'RSA_2048' },
    { NumberOfBytes: 32, Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: 'AAAA' } },
  ];
  const readers = [parseGenerateDataKeyRequest, parseDecryptRequest, parseGenerateDataKeyPairRequest, parseGenerateRandomRequest];

  it('any JSON body is read or refused with a KMS exception, never a crash', () => {
    const body = fc.oneof(
      fc.dictionary(
        fc.constantFrom('KeyId', 'KeySpec', 'NumberOfBytes', 'EncryptionContext', 'GrantTokens', 'CiphertextBlob', 'KeyPairSpec', 'Recipient', 'DryRun', 'x'),
        fc.jsonValue(),
      ),
      fc
        .constantFrom(...valid)
        .chain((v) => fc.record({ key: fc.constantFrom(...Object.keys(v)), value: fc.jsonValue() }).map(({ key, value }) => ({ ...v, [key]: value }))),
    );
    fc.assert(
      fc.property(body, fc.nat(readers.length - 1), (b, r) =>
        typedOrOk('kms request readers', () => {
          try {
            (readers[r] as (body: KmsRequestBody) => unknown)(b as KmsRequestBody);
          } catch (e) {
            // A refusal is always what KMS would answer: an exception with a type and a status.
            if (!(e instanceof KmsServiceException) || !/Exception$/.test(e.type) || e.status !== 400) throw new Error(`not a KMS refusal: ${String(e)}`);
            throw e;
          }
        }),
      ),
      { seed: SEED, numRuns: 4000 },
    );
  });
});
