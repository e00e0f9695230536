import { NitroDatakeyError } from '@nitro-datakey/shared';

export type AttestedKmsErrorCode =
  /** KMS answered an attested call with a plaintext field: refused and discarded, whatever else it said. */
  | 'ERR_KMS_PLAINTEXT_IN_RESPONSE'
  /** The answer has no CiphertextForRecipient. */
  | 'ERR_KMS_NO_CIPHERTEXT_FOR_RECIPIENT'
  /** CiphertextForRecipient is addressed to another key, or cannot be opened with ours. */
  | 'ERR_KMS_RECIPIENT_MISMATCH'
  /** KMS refused the call (the cause carries KMS's exception name, e.g. AccessDeniedException). */
  | 'ERR_KMS_REQUEST_FAILED'
  /** Still throttled after the retries. */
  | 'ERR_KMS_THROTTLED'
  /** No answer in time. */
  | 'ERR_KMS_TIMEOUT'
  /** The connection or TLS failed (a parent tampering with bytes ends here). */
  | 'ERR_KMS_TRANSPORT';

export class AttestedKmsError extends NitroDatakeyError {
  declare readonly code: AttestedKmsErrorCode;
  /** KMS's exception name when KMS answered with an error. */
  readonly kmsErrorName: string | undefined;

  constructor(code: AttestedKmsErrorCode, message: string, options?: { cause?: unknown; kmsErrorName?: string }) {
    super(code, message, options);
    this.kmsErrorName = options?.kmsErrorName;
  }
}
