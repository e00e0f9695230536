/** `@nitro-datakey/shared/sealed-secret`: The sealed-secret envelope: a data key wrapped by KMS beside the AES-256-GCM ciphertext it opens. */
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
} from '../sealed-secret/envelope.js';
