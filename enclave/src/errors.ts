import { InvalidArgumentError, NitroDatakeyError } from '@nitro-datakey/shared';

/*
 * The enclave package's errors, all under NitroDatakeyError. Credentials errors come from the shared
 * credentials protocol (CredentialsError), transport errors from @nitro-datakey/native.
 */

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
  | 'ERR_KMS_TRANSPORT'
  /** The client (or its key manager) was closed: calls in flight and new calls are refused. */
  | 'ERR_KMS_CLIENT_CLOSED'
  /** The KeyId is not one the client was configured to expect, or the answer names another key. */
  | 'ERR_KMS_WRONG_KEY'
  /** The answer does not fit the request (length, spec, key pair) or lacks a field: discarded. */
  | 'ERR_KMS_BAD_RESPONSE';

export class AttestedKmsError extends NitroDatakeyError {
  declare readonly code: AttestedKmsErrorCode;
  /** KMS's exception name when KMS answered with an error. */
  readonly kmsErrorName: string | undefined;

  constructor(code: AttestedKmsErrorCode, message: string, options?: { cause?: unknown; kmsErrorName?: string }) {
    super(code, message, options);
    this.kmsErrorName = options?.kmsErrorName;
  }
}

/** The enclave app's configuration is invalid; the message names the key. Commands exit 2. */
export class EnclaveConfigError extends InvalidArgumentError {
  declare readonly code: 'ERR_ENCLAVE_CONFIG';

  constructor(message: string) {
    super(message, undefined, 'ERR_ENCLAVE_CONFIG');
  }
}

/** The secrets directory is not safe to write key material into. */
export class SecretsDirectoryError extends NitroDatakeyError {
  declare readonly code: 'ERR_SECRETS_DIRECTORY';

  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_SECRETS_DIRECTORY', message, options);
  }
}

/**
 * A secret's envelope is older than the enclave accepts: below the version it already holds for the item,
 * or below the item's minVersion. The parent may hold a rotation back; it never rolls one back.
 */
export class SecretRollbackError extends NitroDatakeyError {
  declare readonly code: 'ERR_SECRET_ROLLBACK';

  constructor(message: string) {
    super('ERR_SECRET_ROLLBACK', message);
  }
}
