export { decodeCbor, encodeCbor, CborTag, type CborDecodeOptions } from './codec.js';
export { scanCbor, type CborScanOptions } from './scan.js';
export { CborError, type CborErrorCode } from './errors.js';
