export { AttestationError, type AttestationErrorCode } from './errors.js';
export {
  decodeAttestation,
  encodeAttestationPayload,
  isDebugMode,
  parseAttestationPayload,
  DEFAULT_MAX_DOCUMENT_BYTES,
  MAX_CABUNDLE_LENGTH,
  type AttestationDocument,
  type DecodedAttestation,
} from './document.js';
export {
  AttestationVerifier,
  verifyAttestation,
  normalizeFingerprint,
  summarizeCertificate,
  type AttestationExpectations,
  type AttestationVerifierOptions,
  type CertificateSummary,
  type PcrExpectations,
  type VerifiedAttestation,
} from './verifier.js';
export { AWS_NITRO_ROOT_G1_SHA256 } from './roots.js';
