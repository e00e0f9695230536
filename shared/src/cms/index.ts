export { CmsError, type CmsErrorCode } from './errors.js';
export { CMS_OID } from './oids.js';
export {
  parseCiphertextForRecipient,
  encodeCiphertextForRecipient,
  type EnvelopedDataParts,
  type RecipientIdentifier,
  type ParseOptions,
  type EncodeOptions,
} from './enveloped-data.js';
export { decryptCiphertextForRecipient, buildCiphertextForRecipient, subjectKeyIdentifier, type DecryptOptions } from './recipient.js';
