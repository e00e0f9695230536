/**
 * `@nitro-datakey/shared/cbor`: CBOR as attestation documents and the NSM use it: strict decoding
 * (shortest form, no duplicates, bounded depth) and encoding.
 */
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
} from '../cbor/index.js';
