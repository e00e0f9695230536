/**
 * `@nitro-datakey/shared/cbor`: CBOR as attestation documents and the NSM use it: strict decoding
 * (shortest form, no duplicates, bounded depth) and encoding.
 */
export * from '../cbor/index.js';
