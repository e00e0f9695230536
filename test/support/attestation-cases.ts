import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeCbor, encodeCbor } from '@nitro-datakey/shared/cbor';
import { decodeCoseSign1 } from '@nitro-datakey/shared/cose';
import { encodeCoseSign1 } from '@nitro-datakey/shared/testing';
import { parseCertificate } from '@nitro-datakey/shared/x509';
import { readVector, vectorsDir } from './vectors.js';

/** One verification to run in every runtime: plain JSON, so it crosses into a child process or a browser page. */
export interface AttestationCase {
  readonly name: string;
  /** base64 */
  readonly document: string;
  /** Verification time, ms since the epoch. */
  readonly at: number;
  readonly roots?: readonly string[];
  readonly expect?: {
    readonly nonce?: string;
    readonly userData?: string;
    readonly pcrs?: Readonly<Record<number, string>>;
    readonly maxAgeMs?: number;
    readonly denyDebug?: boolean;
    readonly publicKey?: boolean;
  };
  /** The verdict the rules call for: 'valid' or an error code. */
  readonly wanted: string;
}

interface IndexEntry {
  readonly file: string;
  readonly timestamp_ms?: number;
  readonly debug_mode?: boolean;
  readonly leaf_not_after?: string;
  readonly valid_at_timestamp: boolean;
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

function flipped(bytes: Uint8Array, index: number, mask = 0x01): Uint8Array {
  const out = new Uint8Array(bytes);
  out[index] = (out[index] as number) ^ mask;
  return out;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(haystack).indexOf(Buffer.from(needle));
}

/** The document with its payload map changed by `edit` (the signature no longer covers it). */
function withPayload(bytes: Uint8Array, edit: (payload: Map<string, unknown>) => void): Uint8Array {
  const sign1 = decodeCoseSign1(bytes);
  const payload = decodeCbor(sign1.payload) as Map<string, unknown>;
  edit(payload);
  return encodeCoseSign1({ ...sign1, payload: encodeCbor(payload) });
}

/** The document with its leaf certificate replaced by `edit(leaf)`. */
function withLeaf(bytes: Uint8Array, edit: (der: Uint8Array) => Uint8Array): Uint8Array {
  return withPayload(bytes, (p) => p.set('certificate', edit(p.get('certificate') as Uint8Array)));
}

/** Where the signature's DER SEQUENCE starts inside the certificate's final BIT STRING. */
function signatureSequenceOffset(der: Uint8Array): number {
  for (let k = der.length - 4; k > 0; k--) {
    if (der[k] === 0x03 && der[k + 1] === der.length - k - 2 && der[k + 2] === 0 && der[k + 3] === 0x30) return k + 3;
  }
  throw new Error('no signature BIT STRING found');
}

function vectorCases(entry: IndexEntry): AttestationCase[] {
  const bytes = readVector(`attestation/${entry.file}`);
  const at = entry.timestamp_ms ?? Date.parse('2026-01-03T21:00:00Z');
  if (!entry.valid_at_timestamp) return [{ name: `${entry.file} as published`, document: b64(bytes), at, wanted: 'rejected' }];
  const sign1 = decodeCoseSign1(bytes);
  return [
    { name: `${entry.file} at its time`, document: b64(bytes), at, wanted: 'valid' },
    {
      name: `${entry.file} a minute after its leaf expired`,
      document: b64(bytes),
      at: Date.parse(entry.leaf_not_after as string) + 60_000,
      wanted: 'ERR_ATTESTATION_CERT_EXPIRED',
    },
    {
      name: `${entry.file} signature changed`,
      document: b64(encodeCoseSign1({ ...sign1, signature: flipped(sign1.signature, 50) })),
      at,
      wanted: 'ERR_ATTESTATION_SIGNATURE',
    },
  ];
}

/** Structural and rule mutants of one real document. */
function mutantCases(file: string, at: number): AttestationCase[] {
  const bytes = readVector(`attestation/${file}`);
  const sign1 = decodeCoseSign1(bytes);
  const leaf = parseCertificate((decodeCbor(sign1.payload) as Map<string, unknown>).get('certificate') as Uint8Array);
  const es256 = encodeCbor(new Map([[1, -7]]));
  const extraParam = encodeCbor(
    new Map<number, unknown>([
      [1, -35],
      [4, new Uint8Array([1])],
    ]),
  );
  const m = (name: string, document: Uint8Array, wanted: string, extra: Partial<AttestationCase> = {}): AttestationCase => ({
    name: `${file}: ${name}`,
    document: b64(document),
    at,
    wanted,
    ...extra,
  });
  return [
    m('tagged COSE_Sign1 (tag 18)', encodeCoseSign1(sign1, { tagged: true }), 'valid'),
    m('ES256 in the protected header', encodeCoseSign1({ ...sign1, protectedBytes: es256 }), 'ERR_ATTESTATION_ALGORITHM'),
    m('a second protected parameter', encodeCoseSign1({ ...sign1, protectedBytes: extraParam }), 'ERR_ATTESTATION_ALGORITHM'),
    m(
      'a PCR changed',
      withPayload(bytes, (p) => (p.get('pcrs') as Map<number, Uint8Array>).set(0, new Uint8Array(48).fill(7))),
      'ERR_ATTESTATION_SIGNATURE',
    ),
    m(
      'an intermediate dropped',
      withPayload(bytes, (p) =>
        p.set(
          'cabundle',
          (p.get('cabundle') as Uint8Array[]).filter((_, i) => i !== 1),
        ),
      ),
      'ERR_ATTESTATION_CHAIN',
    ),
    m(
      'an unknown payload field',
      withPayload(bytes, (p) => p.set('extra', 1)),
      'ERR_ATTESTATION_MALFORMED',
    ),
    m(
      'the leaf subject changed',
      withLeaf(bytes, (der) => flipped(der, indexOf(der, leaf.subject) + leaf.subject.length - 1)),
      'ERR_ATTESTATION_CHAIN',
    ),
    m(
      'the leaf key off the curve',
      withLeaf(bytes, (der) => flipped(der, indexOf(der, leaf.spki) + leaf.spki.length - 1)),
      'ERR_ATTESTATION_CERTIFICATE',
    ),
    m(
      'the leaf signature not DER',
      withLeaf(bytes, (der) => flipped(der, signatureSequenceOffset(der))),
      'ERR_ATTESTATION_CHAIN',
    ),
    m('truncated', bytes.subarray(0, bytes.length - 10), 'ERR_ATTESTATION_MALFORMED'),
    m('a non-shortest array header', bytes[0] === 0x84 ? new Uint8Array([0x98, 0x04, ...bytes.subarray(1)]) : bytes, 'ERR_ATTESTATION_MALFORMED'),
    m('an untrusted root', bytes, 'ERR_ATTESTATION_CHAIN', { roots: ['00'.repeat(32)] }),
    m('before the leaf was valid', bytes, 'ERR_ATTESTATION_CERT_NOT_YET_VALID', { at: leaf.notBefore - 60_000 }),
    m('another nonce expected', bytes, 'ERR_ATTESTATION_NONCE_MISMATCH', { expect: { nonce: b64(new Uint8Array(32).fill(9)) } }),
    m('other user data expected', bytes, 'ERR_ATTESTATION_USER_DATA_MISMATCH', { expect: { userData: b64(new Uint8Array([1, 2, 3])) } }),
    m('another PCR0 expected', bytes, 'ERR_ATTESTATION_PCR_MISMATCH', { expect: { pcrs: { 0: 'ab'.repeat(48) } } }),
    m('older than allowed', bytes, 'ERR_ATTESTATION_STALE', { expect: { maxAgeMs: 1000 }, at: at + 5000 }),
    m('ahead of the clock', bytes, 'ERR_ATTESTATION_FUTURE', { expect: { maxAgeMs: 60_000 }, at: at - 1000 }),
  ];
}

/** Every real vector (as it is, expired, re-signed badly) and the mutant set: what each runtime must agree on. */
export function attestationCases(): AttestationCase[] {
  const index = JSON.parse(readFileSync(join(vectorsDir(), 'attestation', 'index.json'), 'utf8')) as IndexEntry[];
  const cases = index.filter((e) => e.file.endsWith('.cbor')).flatMap(vectorCases);
  const base = index.find((e) => e.file === 'evervault_ga.cbor') as IndexEntry;
  const debug = index.find((e) => e.valid_at_timestamp && e.debug_mode) as IndexEntry;
  cases.push(...mutantCases(base.file, base.timestamp_ms as number));
  cases.push({
    name: `${debug.file}: debug mode denied`,
    document: b64(readVector(`attestation/${debug.file}`)),
    at: debug.timestamp_ms as number,
    expect: { denyDebug: true },
    wanted: 'ERR_ATTESTATION_DEBUG_MODE',
  });
  return cases;
}
