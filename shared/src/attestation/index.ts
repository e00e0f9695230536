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
export { normalizeFingerprint, type AttestationExpectations, type PcrExpectations } from './expectations.js';
export {
  summarizeCertificate,
  type AttestationVerifierOptions,
  type CertificateSummary,
  type VerifiedAttestation,
} from './verification.js';
export { AttestationVerifier, verifyAttestation } from './verifier.js';
export { WebAttestationVerifier, verifyAttestationAsync, type SubtleCryptoLike, type WebAttestationVerifierOptions } from './web-verifier.js';
export { AWS_NITRO_ROOT_G1_SHA256 } from './roots.js';
