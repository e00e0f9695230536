/**
 * `@nitro-datakey/shared`: the platform-free core both sides of the trust boundary use: CBOR, COSE,
 * X.509, the attestation verifier, the NSM codec and client, CMS CiphertextForRecipient, key policies
 * and the wire protocols between the parts. Nothing here touches a device, a socket or a KMS SDK.
 *
 * Encoders only a simulator or a KMS needs live in `@nitro-datakey/shared/testing`; the command-line
 * kit in `@nitro-datakey/shared/cli`.
 *
 * @example
 * ```ts
 * import { AttestationVerifier } from '@nitro-datakey/shared';
 * const verified = new AttestationVerifier().verify(document, { pcrs: new Map([[0, expectedPcr0]]) });
 * ```
 */
export { NitroDatakeyError, InvalidArgumentError } from './errors.js';
export { toHex, fromHex, toBase64, fromBase64, bytesEqual, concatBytes, concatWiping, asUint8Array, assertBytes } from './bytes.js';
export {
  decodeCbor,
  encodeCbor,
  CborTag,
  scanCbor,
  MAX_CBOR_DEPTH,
  CborError,
  type CborDecodeOptions,
  type CborScanOptions,
  type CborErrorCode,
} from './cbor/index.js';
export {
  CoseError,
  decodeCoseSign1,
  verifyCoseSign1Es384,
  assertEs384,
  sigStructure1,
  ALG_ES384,
  COSE_SIGN1_TAG,
  type CoseErrorCode,
  type CoseSign1,
  type CoseDecodeOptions,
} from './cose/index.js';
export { parseAsn1, Asn1Error, TagClass, UniversalTag, type Asn1Node, type Asn1ParseOptions } from './asn1/index.js';
export {
  parseCertificate,
  isSignedBy,
  CertificateError,
  KeyUsage,
  OID,
  type Certificate,
  type BasicConstraints,
  type CertificateErrorCode,
} from './x509/index.js';
export {
  AttestationError,
  AttestationVerifier,
  verifyAttestation,
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
} from './attestation/index.js';
export {
  CmsError,
  CMS_OID,
  parseCiphertextForRecipient,
  decryptCiphertextForRecipient,
  subjectKeyIdentifier,
  type CmsErrorCode,
  type EnvelopedDataParts,
  type RecipientIdentifier,
  type ParseOptions,
  type DecryptOptions,
} from './cms/index.js';
export {
  NsmError,
  NSM_DEVICE_ERRORS,
  NsmClient,
  NSM_LIMITS,
  encodeNsmRequest,
  decodeNsmResponse,
  NSM_MAX_REQUEST_BYTES,
  NSM_MAX_RESPONSE_BYTES,
  type NsmDeviceError,
  type NsmErrorCode,
  type NsmRequest,
  type NsmResponse,
  type NsmDigest,
  type Nsm,
  type NsmTransport,
  type AttestOptions,
  type PcrState,
  type NsmDescription,
} from './nsm/index.js';
export { canonicalEncryptionContext } from './encryption-context.js';
export {
  SEALED_SECRET_FORMAT,
  SECRET_NAME_CONTEXT_KEY,
  MAX_SECRET_BYTES,
  SealedSecretError,
  sealedSecretContext,
  isSecretName,
  decodeEnvelopeField,
  assertSealableSecret,
  sealWithDataKey,
  openWithDataKey,
  parseSealedSecret,
  type SealedSecret,
  type SealedSecretErrorCode,
  type WrappedDataKey,
} from './sealed-secret/envelope.js';
export {
  enclaveKeyPolicy,
  enclaveIamPolicy,
  measurementsFromJson,
  ATTESTED_OPERATIONS,
  MANAGEMENT_ACTIONS,
  type EnclavePolicyInput,
  type PolicyDocument,
  type AttestedOperation,
} from './policy/key-policy.js';
export { matchesWildcard } from './policy/wildcard.js';
export { isLoopbackHost } from './loopback.js';
export { RECIPIENT_ATTESTATION_IMAGE_SHA384, recipientAttestationPcrKey, isRecipientAttestationKey } from './policy/condition-keys.js';
export {
  CredentialsError,
  encodeCredentialsResponse,
  encodeCredentialsUnavailable,
  parseCredentialsResponse,
  cachedCredentialsProvider,
  CREDENTIALS_MAX_RESPONSE_BYTES,
  DEFAULT_REFRESH_MARGIN_MS,
  type AwsCredentials,
  type CredentialsErrorCode,
  type CachedCredentialsOptions,
} from './credentials/protocol.js';
export {
  KEY_ARN_PATTERN,
  isKeyArn,
  KmsServiceException,
  kmsError,
  KMS_CONTENT_TYPE,
  KMS_MAX_REQUEST_BYTES,
  KMS_TARGET_PREFIX,
  kmsOperationFromTarget,
  readKmsRequestBody,
  writeKmsError,
  writeKmsResponse,
  DATA_KEY_SPECS,
  ENCRYPTION_ALGORITHMS,
  KEY_PAIR_SPECS,
  MAX_ATTESTATION_DOCUMENT_BYTES,
  parseDecryptRequest,
  parseDeriveSharedSecretRequest,
  parseGenerateDataKeyPairRequest,
  parseGenerateDataKeyRequest,
  parseGenerateRandomRequest,
  readRecipientField,
  encryptionContext,
  grantTokens,
  KEY_ID_MAX,
  optionalBlob,
  optionalBoolean,
  optionalEnum,
  optionalInteger,
  optionalString,
  requireBlob,
  requireString,
  type DataKeySpec,
  type DecryptRequest,
  type DeriveSharedSecretRequest,
  type EncryptionContext,
  type GenerateDataKeyPairRequest,
  type GenerateDataKeyRequest,
  type GenerateRandomRequest,
  type KeyPairSpec,
  type KmsRequestBody,
  type RecipientField,
} from './kms-protocol/index.js';
