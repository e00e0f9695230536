import { toHex } from '../bytes.js';
import { assertEs384, CoseError, ES384_SIGNATURE_LENGTH, sigStructure1 } from '../cose/sign1.js';
import { InvalidArgumentError } from '../errors.js';
import { issuerNameMatches, parseCertificate, type Certificate } from '../x509/certificate.js';
import { type CryptoSteps, sha256, verifyEs384 } from './crypto-steps.js';
import { decodeAttestation, DEFAULT_MAX_DOCUMENT_BYTES, isDebugMode, type AttestationDocument } from './document.js';
import { AttestationError } from './errors.js';
import { type AttestationExpectations, checkCa, checkExpectations, checkLeaf, checkValidity, nonNegative, normalizeFingerprint } from './expectations.js';
import { AWS_NITRO_ROOT_G1_SHA256 } from './roots.js';

export interface AttestationVerifierOptions {
  /** SHA-256 fingerprints (hex, colons allowed) of the root certificates to trust. Default: the AWS Nitro root G1 only. */
  readonly trustedRootFingerprints?: readonly string[];
  /** The time at which validity is judged. Default: `() => new Date()`. */
  readonly clock?: () => Date;
  /** Leeway for certificate validity and document timestamps, in ms. Default 0. */
  readonly clockToleranceMs?: number;
  /** Certificates kept parsed and verified between calls. Default 256; 0 disables the cache. */
  readonly maxCachedCertificates?: number;
  /** Largest document accepted. Default 16 KiB. */
  readonly maxDocumentBytes?: number;
}

export interface CertificateSummary {
  readonly subject: string;
  readonly issuer: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly fingerprint: string;
}

/** A document whose signature, chain and expectations all held. */
export interface VerifiedAttestation extends AttestationDocument {
  /** PCR0-2 are all zero: the enclave runs in debug mode and its measurements mean nothing. */
  readonly debug: boolean;
  readonly leaf: CertificateSummary;
  readonly rootFingerprint: string;
}

interface CachedCertificate {
  readonly cert: Certificate;
  /** SHA-256 of the DER, lower-case hex. */
  readonly fingerprint: string;
  /** Fingerprint of the issuer whose signature over this certificate was verified, if any. */
  verifiedIssuer: string | undefined;
}

/**
 * The rules of Nitro attestation, once for every runtime: `AttestationVerifier` (Node, synchronous,
 * node:crypto) and `WebAttestationVerifier` (any runtime with WebCrypto, asynchronous) only supply
 * the SHA-256 and ES384 operations these steps ask for. Every check fails closed with an `AttestationError`.
 *
 * The certificates it has parsed and the issuer links it has verified are kept, keyed by SHA-256
 * fingerprint, so documents from a known chain cost about one signature check. A cached
 * certificate's validity period is still checked against the clock on every call.
 */
export abstract class AttestationVerifierBase {
  readonly #trusted: ReadonlySet<string>;
  readonly #clock: () => Date;
  readonly #tolerance: number;
  readonly #maxCached: number;
  readonly #maxBytes: number;
  readonly #cache = new Map<string, CachedCertificate>();

  constructor(options: AttestationVerifierOptions = {}) {
    const roots = options.trustedRootFingerprints ?? [AWS_NITRO_ROOT_G1_SHA256];
    if (roots.length === 0) throw new InvalidArgumentError('trustedRootFingerprints must list at least one fingerprint');
    this.#trusted = new Set(roots.map(normalizeFingerprint));
    this.#clock = options.clock ?? (() => new Date());
    this.#tolerance = nonNegative(options.clockToleranceMs ?? 0, 'clockToleranceMs');
    this.#maxCached = nonNegative(options.maxCachedCertificates ?? 256, 'maxCachedCertificates');
    this.#maxBytes = nonNegative(options.maxDocumentBytes ?? DEFAULT_MAX_DOCUMENT_BYTES, 'maxDocumentBytes');
  }

  /** How many certificates the cache holds now (for tests and metrics). */
  get cachedCertificates(): number {
    return this.#cache.size;
  }

  /** The whole verification of one document, as steps a crypto driver runs. */
  protected *verification(bytes: Uint8Array, expectations: AttestationExpectations): CryptoSteps<VerifiedAttestation> {
    const now = this.#now();
    const { sign1, document } = decodeAttestation(bytes, { maxBytes: this.#maxBytes });
    try {
      assertEs384(sign1);
    } catch (cause) {
      throw new AttestationError('ERR_ATTESTATION_ALGORITHM', cause instanceof CoseError ? cause.message : 'unsupported algorithm', { cause });
    }

    const chain = yield* this.#verifyChain(document, now);
    const leaf = chain[chain.length - 1] as CachedCertificate;
    const signed =
      sign1.signature.byteLength === ES384_SIGNATURE_LENGTH &&
      (yield* verifyEs384(leaf.cert.spki, sigStructure1(sign1.protectedBytes, sign1.payload), sign1.signature));
    if (!signed) throw new AttestationError('ERR_ATTESTATION_SIGNATURE', 'the document signature does not verify with the leaf certificate key');

    const debug = isDebugMode(document);
    checkExpectations(document, debug, expectations, now, this.#tolerance);
    return {
      ...document,
      debug,
      leaf: summarizeCertificate(leaf.cert, leaf.fingerprint),
      rootFingerprint: (chain[0] as CachedCertificate).fingerprint,
    };
  }

  #now(): number {
    const date = this.#clock();
    const ms = date instanceof Date ? date.getTime() : Number.NaN;
    if (!Number.isFinite(ms)) throw new InvalidArgumentError('clock must return a valid Date');
    return ms;
  }

  /** Returns the chain root first, leaf last, after checking every link, constraint and validity period. */
  *#verifyChain(document: AttestationDocument, now: number): CryptoSteps<CachedCertificate[]> {
    const ders = [...document.cabundle, document.certificate];
    const rootFingerprint = toHex(yield* sha256(ders[0] as Uint8Array));
    if (!this.#trusted.has(rootFingerprint)) {
      throw new AttestationError('ERR_ATTESTATION_CHAIN', `the chain's root (cabundle[0], SHA-256 ${rootFingerprint}) is not a trusted root`);
    }
    const label = (i: number): string => (i === ders.length - 1 ? 'the leaf certificate' : i === 0 ? 'the root certificate' : `cabundle[${i}]`);
    // Links first: a list that is not a chain at all is the fault to report, before what its members allow.
    const chain: CachedCertificate[] = [];
    for (let i = 0; i < ders.length; i++) {
      const der = ders[i] as Uint8Array;
      const fingerprint = i === 0 ? rootFingerprint : toHex(yield* sha256(der));
      const entry = this.#parse(der, label(i), fingerprint);
      const issuer = chain[i - 1];
      if (issuer !== undefined && entry.verifiedIssuer !== issuer.fingerprint) {
        if (!(yield* isSignedBy(entry.cert, issuer.cert))) {
          throw new AttestationError('ERR_ATTESTATION_CHAIN', `${label(i)} is not issued by ${label(i - 1)} (${issuer.cert.subjectName})`);
        }
        entry.verifiedIssuer = issuer.fingerprint;
      }
      chain.push(entry);
    }
    const lastCa = ders.length - 2;
    chain.forEach(({ cert }, i) => {
      if (i <= lastCa) checkCa(cert, label(i), lastCa - i);
      else checkLeaf(cert, label(i));
      checkValidity(cert, label(i), now, this.#tolerance);
    });
    return chain;
  }

  #parse(der: Uint8Array, label: string, fingerprint: string): CachedCertificate {
    const cached = this.#cache.get(fingerprint);
    if (cached) {
      // Refresh its place: the map's insertion order is the eviction order.
      this.#cache.delete(fingerprint);
      this.#cache.set(fingerprint, cached);
      return cached;
    }
    let cert: Certificate;
    try {
      cert = parseCertificate(der);
    } catch (cause) {
      throw new AttestationError('ERR_ATTESTATION_CERTIFICATE', `${label}: ${cause instanceof Error ? cause.message : 'unreadable'}`, { cause });
    }
    const entry: CachedCertificate = { cert, fingerprint, verifiedIssuer: undefined };
    if (this.#maxCached > 0) {
      if (this.#cache.size >= this.#maxCached) this.#cache.delete(this.#cache.keys().next().value as string);
      this.#cache.set(fingerprint, entry);
    }
    return entry;
  }
}

/** True when `issuer`'s key made `cert`'s signature and the names link. */
function* isSignedBy(cert: Certificate, issuer: Certificate): CryptoSteps<boolean> {
  if (!issuerNameMatches(cert, issuer) || cert.signature === null) return false;
  return yield* verifyEs384(issuer.spki, cert.tbs, cert.signature);
}

export function summarizeCertificate(cert: Certificate, fingerprint: string): CertificateSummary {
  return {
    subject: cert.subjectName,
    issuer: cert.issuerName,
    notBefore: new Date(cert.notBefore),
    notAfter: new Date(cert.notAfter),
    fingerprint,
  };
}
