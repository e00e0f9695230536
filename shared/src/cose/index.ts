export {
  CoseError,
  decodeCoseSign1,
  encodeCoseSign1,
  assertEs384,
  sigStructure1,
  ES384_PROTECTED_HEADER,
  HEADER_ALG,
  ALG_ES384,
  COSE_SIGN1_TAG,
  type CoseErrorCode,
  type CoseSign1,
  type CoseDecodeOptions,
} from './sign1.js';
export { signCoseSign1Es384, verifyCoseSign1Es384 } from './es384.js';
