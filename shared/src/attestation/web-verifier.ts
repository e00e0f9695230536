import { InvalidArgumentError } from '../errors.js';
import { type AsyncCryptoDriver, runWithCryptoAsync } from './crypto-steps.js';
import type { AttestationExpectations } from './expectations.js';
import { AttestationVerifierBase, type AttestationVerifierOptions, type VerifiedAttestation } from './verification.js';

/** The part of WebCrypto's `SubtleCrypto` the verifier uses. */
export interface SubtleCryptoLike {
  digest(algorithm: 'SHA-256', data: Uint8Array): Promise<ArrayBuffer>;
  importKey(format: 'spki', keyData: Uint8Array, algorithm: { name: 'ECDSA'; namedCurve: 'P-384' }, extractable: false, usages: ['verify']): Promise<unknown>;
  verify(algorithm: { name: 'ECDSA'; hash: 'SHA-384' }, key: unknown, signature: Uint8Array, data: Uint8Array): Promise<boolean>;
}

export interface WebAttestationVerifierOptions extends AttestationVerifierOptions {
  /** Default: `globalThis.crypto.subtle` (browsers, workers, Deno, Bun, Node 20+). */
  readonly subtle?: SubtleCryptoLike;
}

/**
 * Verifies Nitro attestation documents with WebCrypto, on any runtime that has it, with no Node
 * built-in on its path. The same rules, errors and results as `AttestationVerifier`: both run
 * `AttestationVerifierBase`'s steps.
 */
export class WebAttestationVerifier extends AttestationVerifierBase {
  readonly #crypto: AsyncCryptoDriver;

  constructor(options: WebAttestationVerifierOptions = {}) {
    super(options);
    this.#crypto = webCryptoDriver(options.subtle ?? defaultSubtle());
  }

  verify(bytes: Uint8Array, expectations: AttestationExpectations = {}): Promise<VerifiedAttestation> {
    // The generator starts inside the promise chain, so a refusal is a rejection, never a synchronous throw.
    return Promise.resolve().then(() => runWithCryptoAsync(this.verification(bytes, expectations), this.#crypto));
  }
}

/** One-call form of `WebAttestationVerifier`. */
export function verifyAttestationAsync(bytes: Uint8Array, options: WebAttestationVerifierOptions & AttestationExpectations = {}): Promise<VerifiedAttestation> {
  return new WebAttestationVerifier({ ...options, maxCachedCertificates: 0 }).verify(bytes, options);
}

function defaultSubtle(): SubtleCryptoLike {
  const subtle = (globalThis as { crypto?: { subtle?: SubtleCryptoLike } }).crypto?.subtle;
  // Without it there is nothing to verify with: refuse at construction, not at the first document.
  if (subtle === undefined) throw new InvalidArgumentError('WebCrypto (globalThis.crypto.subtle) is not available here: pass { subtle }');
  return subtle;
}

function webCryptoDriver(subtle: SubtleCryptoLike): AsyncCryptoDriver {
  const keys = new WeakMap<Uint8Array, Promise<unknown>>();
  return {
    sha256: async (data) => new Uint8Array(await subtle.digest('SHA-256', data)),
    async verifyEs384(spki, data, signature) {
      try {
        let key = keys.get(spki);
        if (key === undefined) {
          key = subtle.importKey('spki', spki, { name: 'ECDSA', namedCurve: 'P-384' }, false, ['verify']);
          keys.set(spki, key);
        }
        return await subtle.verify({ name: 'ECDSA', hash: 'SHA-384' }, await key, signature, data);
      } catch {
        return false;
      }
    },
  };
}
