/**
 * `@nitro-datakey/shared/web`: the attestation verifier for every runtime with WebCrypto (browsers,
 * workers, Deno, Bun, Node): the same rules, errors and results as `AttestationVerifier`, with no Node
 * built-in on its path. Under the `browser` and `worker` conditions this resolves to one bundled,
 * minified ESM file that carries its dependencies.
 */
export { AttestationError, type AttestationErrorCode } from '../attestation/errors.js';
export {
  decodeAttestation,
  parseAttestationPayload,
  isDebugMode,
  DEFAULT_MAX_DOCUMENT_BYTES,
  MAX_CABUNDLE_LENGTH,
  type AttestationDocument,
  type DecodedAttestation,
} from '../attestation/document.js';
export { normalizeFingerprint, type AttestationExpectations, type PcrExpectations } from '../attestation/expectations.js';
export type { AttestationVerifierOptions, CertificateSummary, VerifiedAttestation } from '../attestation/verification.js';
export { WebAttestationVerifier, verifyAttestationAsync, type SubtleCryptoLike, type WebAttestationVerifierOptions } from '../attestation/web-verifier.js';
export { AWS_NITRO_ROOT_G1_SHA256 } from '../attestation/roots.js';
export { parseCertificate, CertificateError, KeyUsage, type Certificate, type CertificateErrorCode } from '../x509/certificate.js';
export { NitroDatakeyError, InvalidArgumentError } from '../errors.js';
export { toHex, fromHex, fromBase64, toBase64 } from '../bytes.js';
