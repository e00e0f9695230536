/**
 * `@nitro-datakey/shared/testing`: the other side of the formats, for simulators and servers that
 * play AWS (the dev kit's simulated NSM and local KMS, the `cms-encrypt` command). An enclave or a
 * parent never needs these: it decodes documents and decrypts CMS, it does not make them.
 */
export { encodeAttestationPayload } from './attestation/index.js';
export { encodeCoseSign1, signCoseSign1Es384, ES384_PROTECTED_HEADER, HEADER_ALG } from './cose/index.js';
export { decodeNsmRequest, encodeNsmResponse } from './nsm/index.js';
export { buildCiphertextForRecipient, encodeCiphertextForRecipient, type EncodeOptions } from './cms/index.js';
export { derTlv, berIndefinite, derSmallInteger, derOid, DER_NULL, TagByte, concatDer } from './asn1/index.js';
