import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { type CryptoDriver, runWithCrypto } from './crypto-steps.js';
import type { AttestationExpectations } from './expectations.js';
import { AttestationVerifierBase, type AttestationVerifierOptions, type VerifiedAttestation } from './verification.js';

/**
 * Verifies Nitro attestation documents on Node, synchronously, with node:crypto. The rules are
 * `AttestationVerifierBase`'s, shared with `WebAttestationVerifier`.
 */
export class AttestationVerifier extends AttestationVerifierBase {
  readonly #crypto = nodeCryptoDriver();

  verify(bytes: Uint8Array, expectations: AttestationExpectations = {}): VerifiedAttestation {
    return runWithCrypto(this.verification(bytes, expectations), this.#crypto);
  }
}

/** One-call form: `verifyAttestation(bytes, { clock, pcrs: { 0: '...' } })`. */
export function verifyAttestation(bytes: Uint8Array, options: AttestationVerifierOptions & AttestationExpectations = {}): VerifiedAttestation {
  return new AttestationVerifier({ ...options, maxCachedCertificates: 0 }).verify(bytes, options);
}

function nodeCryptoDriver(): CryptoDriver {
  // Keyed by the SPKI array itself: a cached certificate hands the same array back on every call,
  // so a known chain's keys are imported once.
  const keys = new WeakMap<Uint8Array, KeyObject>();
  return {
    sha256: (data) => new Uint8Array(createHash('sha256').update(data).digest()),
    verifyEs384(spki, data, signature) {
      try {
        let key = keys.get(spki);
        if (key === undefined) {
          key = createPublicKey({ key: Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength), format: 'der', type: 'spki' });
          keys.set(spki, key);
        }
        return verify('sha384', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
      } catch {
        return false;
      }
    },
  };
}
