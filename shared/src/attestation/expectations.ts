import { bytesEqual, fromHex, toHex } from '../bytes.js';
import { InvalidArgumentError } from '../errors.js';
import { KeyUsage, type Certificate } from '../x509/certificate.js';
import type { AttestationDocument } from './document.js';
import { AttestationError } from './errors.js';

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

/** The leaf signs documents, never certificates: AWS's procedure requires it not to be a CA. */
export function checkLeaf(cert: Certificate, label: string): void {
  if (cert.basicConstraints?.ca === true) throw new AttestationError('ERR_ATTESTATION_CERT_CONSTRAINTS', `${label} says cA=TRUE: a leaf must not be a CA`);
  if (cert.keyUsage === undefined || (cert.keyUsage & KeyUsage.digitalSignature) === 0) {
    throw new AttestationError('ERR_ATTESTATION_CERT_CONSTRAINTS', `${label} lacks keyUsage digitalSignature`);
  }
}

/** A CA must say so, may sign certificates, and must allow the number of CAs below it (`below`). */
export function checkCa(cert: Certificate, label: string, below: number): void {
  const bc = cert.basicConstraints;
  if (!bc?.ca) throw new AttestationError('ERR_ATTESTATION_CERT_CONSTRAINTS', `${label} is used as a CA but basicConstraints does not say cA=TRUE`);
  if (bc.pathLength !== undefined && below > bc.pathLength) {
    throw new AttestationError('ERR_ATTESTATION_CERT_CONSTRAINTS', `${label} allows ${bc.pathLength} intermediate CA(s) below it, the chain has ${below}`);
  }
  if (cert.keyUsage === undefined || (cert.keyUsage & KeyUsage.keyCertSign) === 0) {
    throw new AttestationError('ERR_ATTESTATION_CERT_CONSTRAINTS', `${label} is used as a CA but lacks keyUsage keyCertSign`);
  }
}

/** The certificate's validity period holds at `now`, give or take `tolerance` ms. */
export function checkValidity(cert: Certificate, label: string, now: number, tolerance: number): void {
  if (now + tolerance < cert.notBefore) {
    throw new AttestationError(
      'ERR_ATTESTATION_CERT_NOT_YET_VALID',
      `${label} is not valid before ${new Date(cert.notBefore).toISOString()} (verification time ${new Date(now).toISOString()})`,
    );
  }
  if (now - tolerance > cert.notAfter) {
    throw new AttestationError(
      'ERR_ATTESTATION_CERT_EXPIRED',
      `${label} expired at ${new Date(cert.notAfter).toISOString()} (verification time ${new Date(now).toISOString()})`,
    );
  }
}

export function checkExpectations(document: AttestationDocument, debug: boolean, expect: AttestationExpectations, now: number, tolerance: number): void {
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

function checkPcrs(document: AttestationDocument, pcrs: PcrExpectations): void {
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

export function nonNegative(value: number, label: string): number {
  if (!Number.isFinite(value) || value < 0) throw new InvalidArgumentError(`${label} must be a non-negative number`);
  return value;
}
