export { parseAsn1, Asn1Error, TagClass, type Asn1Node, type Asn1ParseOptions } from './parser.js';
export {
  UniversalTag,
  expectUniversal,
  expectContext,
  isContext,
  readSequence,
  readOid,
  readSmallInteger,
  readIntegerBytes,
  readBoolean,
  readBitStringBytes,
  readNamedBits,
  readOctetString,
  readTime,
} from './fields.js';
export { derTlv, berIndefinite, derSmallInteger, derOid, DER_NULL, TagByte, concatDer } from './writer.js';
