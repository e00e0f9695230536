import { NitroDatakeyError } from '../errors.js';

/** Which check refused an attestation document. Stable: scripts and callers branch on these. */
export type AttestationErrorCode =
  /** Not a COSE_Sign1 attestation document, or a payload field breaks its rules. */
  | 'ERR_ATTESTATION_MALFORMED'
  /** The COSE algorithm is not ES384. */
  | 'ERR_ATTESTATION_ALGORITHM'
  /** The COSE signature does not verify with the leaf certificate's key. */
  | 'ERR_ATTESTATION_SIGNATURE'
  /** A certificate cannot be parsed or uses an unsupported algorithm or critical extension. */
  | 'ERR_ATTESTATION_CERTIFICATE'
  /** The chain does not link leaf to cabundle to a trusted root. */
  | 'ERR_ATTESTATION_CHAIN'
  | 'ERR_ATTESTATION_CERT_EXPIRED'
  | 'ERR_ATTESTATION_CERT_NOT_YET_VALID'
  /** basicConstraints, pathLenConstraint or keyUsage forbid a certificate's role in the chain. */
  | 'ERR_ATTESTATION_CERT_CONSTRAINTS'
  | 'ERR_ATTESTATION_PCR_MISMATCH'
  | 'ERR_ATTESTATION_NONCE_MISMATCH'
  | 'ERR_ATTESTATION_USER_DATA_MISMATCH'
  | 'ERR_ATTESTATION_PUBLIC_KEY_MISMATCH'
  /** The document's timestamp is older than the allowed maximum age. */
  | 'ERR_ATTESTATION_STALE'
  /** The document's timestamp is ahead of the verifier's clock. */
  | 'ERR_ATTESTATION_FUTURE'
  | 'ERR_ATTESTATION_DEBUG_MODE';

export class AttestationError extends NitroDatakeyError {
  declare readonly code: AttestationErrorCode;

  constructor(code: AttestationErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
