import { NitroDatakeyError } from '../errors.js';

/**
 * An error as KMS's JSON protocol carries it: `{"__type": type, "message": message}` with an HTTP
 * status. Servers of that protocol (the local KMS, the enclave gateway) throw it to answer a request;
 * `code` is the same for every such error, `type` is KMS's exception name.
 */
export class KmsServiceException extends NitroDatakeyError {
  declare readonly code: 'ERR_KMS_SERVICE_EXCEPTION';
  /** KMS's exception name, e.g. `ValidationException`. */
  readonly type: string;
  readonly status: number;

  constructor(type: string, message: string, status = 400) {
    super('ERR_KMS_SERVICE_EXCEPTION', message);
    this.type = type;
    this.status = status;
  }
}

/** KMS's exceptions with AWS's wording (see FACTS.md "AWS KMS on the wire"). */
export const kmsError = {
  validation: (message: string) => new KmsServiceException('ValidationException', message),
  notFound: (message: string) => new KmsServiceException('NotFoundException', message),
  disabled: (arn: string) => new KmsServiceException('DisabledException', `${arn} is disabled.`),
  pendingDeletion: (arn: string) => new KmsServiceException('KMSInvalidStateException', `${arn} is pending deletion.`),
  invalidState: (message: string) => new KmsServiceException('KMSInvalidStateException', message),
  // KMS says nothing about why a ciphertext is refused; neither do we.
  invalidCiphertext: () => new KmsServiceException('InvalidCiphertextException', ''),
  incorrectKey: () => new KmsServiceException('IncorrectKeyException', 'The key ID in the request does not identify a CMK that can perform this operation.'),
  dryRun: () => new KmsServiceException('DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.'),
  accessDenied: (message: string) => new KmsServiceException('AccessDeniedException', message),
  alreadyExists: (message: string) => new KmsServiceException('AlreadyExistsException', message),
  unsupported: (message: string) => new KmsServiceException('UnsupportedOperationException', message),
  invalidAliasName: (message: string) => new KmsServiceException('InvalidAliasNameException', message),
  malformedPolicy: (message: string) => new KmsServiceException('MalformedPolicyDocumentException', message),
  invalidMarker: () => new KmsServiceException('InvalidMarkerException', 'Invalid marker'),
  serialization: (message: string) => new KmsServiceException('SerializationException', message),
  unknownOperation: () => new KmsServiceException('UnknownOperationException', ''),
  internal: () => new KmsServiceException('KMSInternalException', 'An internal error occurred.', 500),
};
