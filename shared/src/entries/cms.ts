/** `@nitro-datakey/shared/cms`: CiphertextForRecipient (CMS EnvelopedData): parsing and decryption with the recipient's RSA key. */
export {
  CmsError,
  CMS_OID,
  parseCiphertextForRecipient,
  decryptCiphertextForRecipient,
  subjectKeyIdentifier,
  type CmsErrorCode,
  type EnvelopedDataParts,
  type RecipientIdentifier,
  type ParseOptions,
  type DecryptOptions,
} from '../cms/index.js';
