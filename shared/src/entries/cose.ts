/** `@nitro-datakey/shared/cose`: COSE_Sign1 with ES384, as attestation documents are signed. */
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
} from '../cose/index.js';
