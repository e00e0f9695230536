import { createHash } from 'node:crypto';
import { bytesEqual, fromHex, toHex } from '../bytes.js';
import { assertEs384, CoseError, verifyCoseSign1Es384 } from '../cose/index.js';
import { InvalidArgumentError } from '../errors.js';
import { isSignedBy, KeyUsage, parseCertificate, type Certificate } from '../x509/index.js';
import { decodeAttestation, DEFAULT_MAX_DOCUMENT_BYTES, isDebugMode, type AttestationDocument } from './document.js';
import { AttestationError } from './errors.js';
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

export type PcrExpectations = ReadonlyMap<number, Uint8Array | string> | Readonly<Record<number, Uint8Array | string>>;

/** What the caller requires of the document beyond a valid signature and chain. */
export interface AttestationExpectations {
  /** PCR index -> expected value (bytes or hex). Every listed PCR must be present and equal. */
  readonly pcrs?: PcrExpectations;
  readonly nonce?: Uint8Array;
  readonly userData?: Uint8Array;
  /** `true`: a public key must be present; bytes: it must equal these. */
  readonly publicKey?: boolean | Uint8Array;
  /** Largest allowed age of the document's timestamp relative to the clock, in ms. */
  readonly maxAgeMs?: number;
  /** Refuse documents from debug-mode enclaves (PCR0-2 all zero). */
  readonly denyDebug?: boolean;
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
  /** Fingerprint of the issuer whose signature over this certificate was verified, if any. */
  verifiedIssuer: string | undefined;
}

/**
 * Verifies Nitro attestation documents. Every check fails closed with an `AttestationError`.
 *
 * A verifier keeps the certificates it has parsed and the issuer links it has verified, keyed by
 * SHA-256 fingerprint, so documents from a known chain cost about one signature check. A cached
 * certificate's validity period is still checked against the clock on every call.
 */
export class AttestationVerifier {
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

  verify(bytes: Uint8Array, expectations: AttestationExpectations = {}): VerifiedAttestation {
    const now = this.#now();
    const { sign1, document } = decodeAttestation(bytes, { maxBytes: this.#maxBytes });
    try {
      assertEs384(sign1);
    } catch (cause) {
      throw new AttestationError('ERR_ATTESTATION_ALGORITHM', cause instanceof CoseError ? cause.message : 'unsupported algorithm', { cause });
    }

    const chain = this.#verifyChain(document, now);
    const leaf = chain[chain.length - 1] as Certificate;
    if (!verifyCoseSign1Es384(sign1, leaf.publicKey)) {
      throw new AttestationError('ERR_ATTESTATION_SIGNATURE', 'the document signature does not verify with the leaf certificate key');
    }

    const debug = isDebugMode(document);
    checkExpectations(document, debug, expectations, now, this.#tolerance);
    return {
      ...document,
      debug,
      leaf: summarizeCertificate(leaf),
      rootFingerprint: (chain[0] as Certificate).fingerprint,
    };
  }

  #now(): number {
    const date = this.#clock();
    const ms = date instanceof Date ? date.getTime() : Number.NaN;
    if (!Number.isFinite(ms)) throw new InvalidArgumentError('clock must return a valid Date');
    return ms;
  }

  /** Returns the chain root first, leaf last, after checking every link, constraint and validity period. */
  #verifyChain(document: AttestationDocument, now: number): Certificate[] {
    const ders = [...document.cabundle, document.certificate];
    const rootFingerprint = createHash('sha256')
      .update(ders[0] as Uint8Array)
      .digest('hex');
    if (!this.#trusted.has(rootFingerprint)) {
      throw new AttestationError('ERR_ATTESTATION_CHAIN', `the chain's root (cabundle[0], SHA-256 ${rootFingerprint}) is not a trusted root`);
    }
    const label = (i: number): string => (i === ders.length - 1 ? 'the leaf certificate' : i === 0 ? 'the root certificate' : `cabundle[${i}]`);
    // Links first: a list that is not a chain at all is the fault to report, before what its members allow.
    const chain: Certificate[] = [];
    for (let i = 0; i < ders.length; i++) {
      const entry = this.#parse(ders[i] as Uint8Array, label(i), i === 0 ? rootFingerprint : undefined);
      const issuer = chain[i - 1];
      if (issuer !== undefined && entry.verifiedIssuer !== issuer.fingerprint) {
        if (!isSignedBy(entry.cert, issuer)) {
          throw new AttestationError('ERR_ATTESTATION_CHAIN', `${label(i)} is not issued by ${label(i - 1)} (${issuer.subjectName})`);
        }
        entry.verifiedIssuer = issuer.fingerprint;
      }
      chain.push(entry.cert);
    }
    const lastCa = ders.length - 2;
    chain.forEach((cert, i) => {
      if (i <= lastCa) checkCa(cert, label(i), lastCa - i);
      else checkLeaf(cert, label(i));
      if (now + this.#tolerance < cert.notBefore) {
        throw new AttestationError(
          'ERR_ATTESTATION_CERT_NOT_YET_VALID',
          `${label(i)} is not valid before ${new Date(cert.notBefore).toISOString()} (verification time ${new Date(now).toISOString()})`,
        );
      }
      if (now - this.#tolerance > cert.notAfter) {
        throw new AttestationError(
          'ERR_ATTESTATION_CERT_EXPIRED',
          `${label(i)} expired at ${new Date(cert.notAfter).toISOString()} (verification time ${new Date(now).toISOString()})`,
        );
      }
    });
    return chain;
  }

  #parse(der: Uint8Array, label: string, knownFingerprint: string | undefined): CachedCertificate {
    const fingerprint = knownFingerprint ?? createHash('sha256').update(der).digest('hex');
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
    const entry: CachedCertificate = { cert, verifiedIssuer: undefined };
    if (this.#maxCached > 0) {
      if (this.#cache.size >= this.#maxCached) this.#cache.delete(this.#cache.keys().next().value as string);
      this.#cache.set(fingerprint, entry);
    }
    return entry;
  }
}

/** One-call form: `verifyAttestation(bytes, { clock, pcrs: { 0: '...' } })`. */
export function verifyAttestation(bytes: Uint8Array, options: AttestationVerifierOptions & AttestationExpectations = {}): VerifiedAttestation {
  return new AttestationVerifier({ ...options, maxCachedCertificates: 0 }).verify(bytes, options);
}

export function summarizeCertificate(cert: Certificate): CertificateSummary {
  return {
    subject: cert.subjectName,
    issuer: cert.issuerName,
    notBefore: new Date(cert.notBefore),
    notAfter: new Date(cert.notAfter),
    fingerprint: cert.fingerprint,
  };
}

/** The leaf signs documents, never certificates: AWS's procedure requires it not to be a CA. */
function checkLeaf(cert: Certificate, label: string): void {
  if (cert.basicConstraints?.ca === true) throw new AttestationError('ERR_ATTESTATION_CERT_CONSTRAINTS', `${label} says cA=TRUE: a leaf must not be a CA`);
  if (cert.keyUsage === undefined || (cert.keyUsage & KeyUsage.digitalSignature) === 0) {
    throw new AttestationError('ERR_ATTESTATION_CERT_CONSTRAINTS', `${label} lacks keyUsage digitalSignature`);
  }
}

/** A CA must say so, may sign certificates, and must allow the number of CAs below it (`below`). */
function checkCa(cert: Certificate, label: string, below: number): void {
  const bc = cert.basicConstraints;
  if (!bc?.ca) throw new AttestationError('ERR_ATTESTATION_CERT_CONSTRAINTS', `${label} is used as a CA but basicConstraints does not say cA=TRUE`);
  if (bc.pathLength !== undefined && below > bc.pathLength) {
    throw new AttestationError('ERR_ATTESTATION_CERT_CONSTRAINTS', `${label} allows ${bc.pathLength} intermediate CA(s) below it, the chain has ${below}`);
  }
  if (cert.keyUsage === undefined || (cert.keyUsage & KeyUsage.keyCertSign) === 0) {
    throw new AttestationError('ERR_ATTESTATION_CERT_CONSTRAINTS', `${label} is used as a CA but lacks keyUsage keyCertSign`);
  }
}

function checkExpectations(document: AttestationDocument, debug: boolean, expect: AttestationExpectations, now: number, tolerance: number): void {
  if (expect.denyDebug && debug) {
    throw new AttestationError('ERR_ATTESTATION_DEBUG_MODE', 'the document comes from a debug-mode enclave (PCR0-2 are zero) and debug mode is denied');
  }
  if (expect.maxAgeMs !== undefined) checkAge(document, nonNegative(expect.maxAgeMs, 'maxAgeMs'), now, tolerance);
  if (expect.pcrs !== undefined) checkPcrs(document, expect.pcrs);
  checkBindings(document, expect);
}

function checkAge(document: AttestationDocument, maxAge: number, now: number, tolerance: number): void {
  if (document.timestamp > now + tolerance) {
    throw new AttestationError('ERR_ATTESTATION_FUTURE', `the document's timestamp ${new Date(document.timestamp).toISOString()} is ahead of the clock`);
  }
  if (now - document.timestamp > maxAge + tolerance) {
    throw new AttestationError('ERR_ATTESTATION_STALE', `the document is ${now - document.timestamp} ms old, more than the allowed ${maxAge} ms`);
  }
}

function checkPcrs(document: AttestationDocument, pcrs: NonNullable<AttestationExpectations['pcrs']>): void {
  const entries = pcrs instanceof Map ? [...pcrs.entries()] : Object.entries(pcrs).map(([k, v]) => [Number(k), v] as const);
  for (const [index, value] of entries) {
    const wanted = typeof value === 'string' ? fromHex(value, `expected PCR${index}`) : value;
    const actual = document.pcrs.get(index);
    if (actual === undefined || !bytesEqual(actual, wanted)) {
      throw new AttestationError('ERR_ATTESTATION_PCR_MISMATCH', `PCR${index} is ${actual ? toHex(actual) : 'absent'}, expected ${toHex(wanted)}`);
    }
  }
}

/** The nonce, user data and public key the caller bound the document to. */
function checkBindings(document: AttestationDocument, expect: AttestationExpectations): void {
  if (expect.nonce !== undefined && (document.nonce === null || !bytesEqual(document.nonce, expect.nonce))) {
    throw new AttestationError('ERR_ATTESTATION_NONCE_MISMATCH', 'the document nonce does not match the expected nonce');
  }
  if (expect.userData !== undefined && (document.userData === null || !bytesEqual(document.userData, expect.userData))) {
    throw new AttestationError('ERR_ATTESTATION_USER_DATA_MISMATCH', 'the document user_data does not match the expected user data');
  }
  if (expect.publicKey === true && document.publicKey === null) {
    throw new AttestationError('ERR_ATTESTATION_PUBLIC_KEY_MISMATCH', 'the document carries no public key, and one is required');
  }
  if (expect.publicKey instanceof Uint8Array && (document.publicKey === null || !bytesEqual(document.publicKey, expect.publicKey))) {
    throw new AttestationError('ERR_ATTESTATION_PUBLIC_KEY_MISMATCH', 'the document public key does not match the expected key');
  }
}

export function normalizeFingerprint(fingerprint: string): string {
  const hex = fingerprint.replace(/:/g, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new InvalidArgumentError(`a root fingerprint must be 64 hex digits (SHA-256), got ${JSON.stringify(fingerprint)}`);
  return hex;
}

function nonNegative(value: number, label: string): number {
  if (!Number.isFinite(value) || value < 0) throw new InvalidArgumentError(`${label} must be a non-negative number`);
  return value;
}
