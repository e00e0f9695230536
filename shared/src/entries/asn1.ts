/** `@nitro-datakey/shared/asn1`: A strict DER/BER reader for X.509 and CMS. */
export { parseAsn1, Asn1Error, TagClass, UniversalTag, type Asn1Node, type Asn1ParseOptions } from '../asn1/index.js';
