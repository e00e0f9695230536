export { KEY_ARN_PATTERN, isKeyArn } from './arn.js';
export { KmsServiceException, kmsError } from './errors.js';
export {
  KMS_CONTENT_TYPE,
  KMS_MAX_REQUEST_BYTES,
  KMS_TARGET_PREFIX,
  kmsOperationFromTarget,
  readKmsRequestBody,
  writeKmsError,
  writeKmsResponse,
} from './http.js';
export {
  DATA_KEY_SPECS,
  KEY_PAIR_SPECS,
  MAX_ATTESTATION_DOCUMENT_BYTES,
  parseDecryptRequest,
  parseDeriveSharedSecretRequest,
  parseGenerateDataKeyPairRequest,
  parseGenerateDataKeyRequest,
  parseGenerateRandomRequest,
  readRecipientField,
  type DataKeySpec,
  type DecryptRequest,
  type DeriveSharedSecretRequest,
  type EncryptionContext,
  type GenerateDataKeyPairRequest,
  type GenerateDataKeyRequest,
  type GenerateRandomRequest,
  type KeyPairSpec,
  type RecipientField,
} from './requests.js';
export {
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
  type KmsRequestBody,
} from './validation.js';
