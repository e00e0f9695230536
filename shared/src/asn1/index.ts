export { parseAsn1, Asn1Error, TagClass, type Asn1Node, type Asn1ParseOptions } from './reader.js';
export * from './read.js';
export { derTlv, berIndefinite, derSmallInteger, derOid, DER_NULL, TagByte, concatDer } from './writer.js';
