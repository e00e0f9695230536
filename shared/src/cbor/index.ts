export { decodeCbor, encodeCbor, CborTag, type CborDecodeOptions } from './codec.js';
export { scanCbor, MAX_CBOR_DEPTH, type CborScanOptions } from './scan.js';
export { CborError, type CborErrorCode } from './errors.js';
