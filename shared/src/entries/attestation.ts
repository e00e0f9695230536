/**
 * `@nitro-datakey/shared/attestation`: the attestation document verifier: the chain to the AWS Nitro
 * root, the COSE signature, and the caller's expectations.
 */
export {
  AttestationError,
  AttestationVerifier,
  verifyAttestation,
  WebAttestationVerifier,
  verifyAttestationAsync,
  decodeAttestation,
  parseAttestationPayload,
  isDebugMode,
  normalizeFingerprint,
  summarizeCertificate,
  AWS_NITRO_ROOT_G1_SHA256,
  DEFAULT_MAX_DOCUMENT_BYTES,
  MAX_CABUNDLE_LENGTH,
  type AttestationErrorCode,
  type AttestationDocument,
  type DecodedAttestation,
  type AttestationExpectations,
  type AttestationVerifierOptions,
  type CertificateSummary,
  type PcrExpectations,
  type VerifiedAttestation,
  type SubtleCryptoLike,
  type WebAttestationVerifierOptions,
} from '../attestation/index.js';
