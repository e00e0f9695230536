export { NitroDatakeyError, InvalidArgumentError } from './errors.js';
export { toHex, fromHex, bytesEqual, concatBytes, asUint8Array, assertBytes } from './bytes.js';
export * from './cbor/index.js';
export * from './cose/index.js';
export { parseAsn1, Asn1Error, TagClass, derTlv, berIndefinite, derOid, type Asn1Node, type Asn1ParseOptions } from './asn1/index.js';
export * from './x509/index.js';
export * from './attestation/index.js';
export * from './cms/index.js';
export * from './nsm/index.js';
