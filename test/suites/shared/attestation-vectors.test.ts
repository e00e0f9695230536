import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AttestationError, AttestationVerifier, AWS_NITRO_ROOT_G1_SHA256, toHex } from '@nitro-datakey/shared';
import { readVector, vectorsAvailable, vectorsDir } from '../../support/index.js';

interface IndexEntry {
  file: string;
  module_id?: string;
  timestamp_ms?: number;
  pcrs?: Record<string, string>;
  debug_mode?: boolean;
  leaf_not_after?: string;
  valid_at_timestamp: boolean;
}

const available = vectorsAvailable();
const index: IndexEntry[] = available ? JSON.parse(readFileSync(join(vectorsDir(), 'attestation', 'index.json'), 'utf8')) : [];
const valid = index.filter((e) => e.valid_at_timestamp);
const title = available
  ? 'real AWS attestation documents'
  : `real AWS attestation documents (SKIPPED: no vectors at ${vectorsDir()}; set NITRO_DATAKEY_VECTORS)`;

function rejection(f: () => unknown): AttestationError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(AttestationError);
    return e as AttestationError;
  }
  throw new Error('expected the document to be rejected');
}

describe.skipIf(!available)(title, () => {
  it('has the vectors this suite expects', () => {
    expect(valid.length).toBeGreaterThanOrEqual(10);
    expect(readVector('root/root.der').byteLength).toBeGreaterThan(0);
  });

  it('the pinned AWS root is the vectors root', async () => {
    const { createHash } = await import('node:crypto');
    expect(createHash('sha256').update(readVector('root/root.der')).digest('hex')).toBe(AWS_NITRO_ROOT_G1_SHA256);
  });

  it.each(valid.map((e) => [e.file, e] as const))('%s verifies at its own timestamp with the listed fields', (_f, entry) => {
    const verifier = new AttestationVerifier({ clock: () => new Date(entry.timestamp_ms as number) });
    const doc = verifier.verify(readVector(`attestation/${entry.file}`));
    expect(doc.moduleId).toBe(entry.module_id);
    expect(doc.timestamp).toBe(entry.timestamp_ms);
    for (const [i, value] of Object.entries(entry.pcrs ?? {})) expect(toHex(doc.pcrs.get(Number(i)) as Uint8Array)).toBe(value);
    expect(doc.debug).toBe(entry.debug_mode);
    expect(doc.rootFingerprint).toBe(AWS_NITRO_ROOT_G1_SHA256);
    expect(doc.leaf.notAfter.toISOString().replace('.000', '')).toBe(entry.leaf_not_after);
  });

  it.each(valid.map((e) => [e.file, e] as const))('%s is rejected one minute after its leaf expires', (_f, entry) => {
    const at = Date.parse(entry.leaf_not_after as string) + 60_000;
    const err = rejection(() => new AttestationVerifier({ clock: () => new Date(at) }).verify(readVector(`attestation/${entry.file}`)));
    expect(err.code).toBe('ERR_ATTESTATION_CERT_EXPIRED');
  });

  it('the payload-altered document is rejected for its signature', () => {
    const entry = index.find((e) => e.file === 'eternis_invalid_attestation.cbor') as IndexEntry;
    const err = rejection(() =>
      new AttestationVerifier({ clock: () => new Date(entry.timestamp_ms as number) }).verify(readVector(`attestation/${entry.file}`)),
    );
    expect(err.code).toBe('ERR_ATTESTATION_SIGNATURE');
  });

  it('the corrupt published document is rejected as malformed', () => {
    const err = rejection(() =>
      new AttestationVerifier({ clock: () => new Date('2026-01-03T21:00:00Z') }).verify(
        readVector('attestation/base_nitro_validator_2026_as_published_corrupt.cbor'),
      ),
    );
    expect(err.code).toBe('ERR_ATTESTATION_MALFORMED');
  });

  it('the indefinite-length payload map is read like a definite one', () => {
    const bytes = readVector('attestation/base_nitro_validator_2026_repaired.cbor');
    const doc = new AttestationVerifier({ clock: () => new Date(1767472867402) }).verify(bytes);
    expect(doc.userData && toHex(doc.userData)).toBe('69553adc61d6e9fcdecbe1ea49bb2b52a60238e0');
    expect(doc.publicKey).toBeNull();
  });

  it('real documents are refused under a foreign root with the chain code', () => {
    const entry = valid[0] as IndexEntry;
    const verifier = new AttestationVerifier({ clock: () => new Date(entry.timestamp_ms as number), trustedRootFingerprints: ['00'.repeat(32)] });
    expect(rejection(() => verifier.verify(readVector(`attestation/${entry.file}`))).code).toBe('ERR_ATTESTATION_CHAIN');
  });

  it('a tagged (18) COSE_Sign1 is accepted', () => {
    const entry = valid[0] as IndexEntry;
    const bytes = readVector(`attestation/${entry.file}`);
    const tagged = new Uint8Array([0xd2, ...bytes]);
    expect(new AttestationVerifier({ clock: () => new Date(entry.timestamp_ms as number) }).verify(tagged).moduleId).toBe(entry.module_id);
  });

  it('empty public_key, null nonce and content fields read as the index lists them', () => {
    const nitrite = new AttestationVerifier({ clock: () => new Date(1635440522077) }).verify(readVector('attestation/nitrite_2021.cbor'));
    expect(nitrite.publicKey).toBeNull(); // sent as an empty byte string
    expect(nitrite.nonce && toHex(nitrite.nonce)).toBe('54caa7fdd9c1de6f1206e4900d57b61eb759d628');
    const evervault = new AttestationVerifier({ clock: () => new Date(1665582606081) }).verify(readVector('attestation/evervault_beta_debug.cbor'));
    expect(evervault.nonce).toBeNull();
    expect(Buffer.from(evervault.userData as Uint8Array).toString()).toBe('hello, world!');
  });
});
