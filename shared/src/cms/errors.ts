import { NitroDatakeyError } from '../errors.js';

export type CmsErrorCode =
  /** Not a well-formed CMS ContentInfo/EnvelopedData. */
  | 'ERR_CMS_MALFORMED'
  /** Well-formed, but not KMS's layout: another algorithm, version, recipient type or count. */
  | 'ERR_CMS_UNSUPPORTED'
  /** The recipient identifier does not name our key. */
  | 'ERR_CMS_RECIPIENT_MISMATCH'
  /**
   * The content could not be decrypted. RSA-OAEP failures and AES-CBC padding failures share this
   * code and message on purpose: telling them apart would hand an attacker a padding oracle.
   */
  | 'ERR_CMS_DECRYPT_FAILED';

export class CmsError extends NitroDatakeyError {
  declare readonly code: CmsErrorCode;

  constructor(code: CmsErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
