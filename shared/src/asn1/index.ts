export { parseAsn1, Asn1Error, TagClass, type Asn1Node, type Asn1ParseOptions } from './reader.js';
export * from './read.js';
