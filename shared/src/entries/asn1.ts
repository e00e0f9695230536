/** `@nitro-datakey/shared/asn1`: a strict DER/BER reader for X.509 and CMS, and the minimal DER writer the enclave's TLS certificate and the simulators use. */
export { parseAsn1, Asn1Error, TagClass, UniversalTag, type Asn1Node, type Asn1ParseOptions } from '../asn1/index.js';
export { derTlv, derSmallInteger, derOid, TagByte, concatDer } from '../asn1/index.js';
