/** An error KMS would return: `{"__type": type, "message": message}` with an HTTP status. */
export class KmsException extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = type;
  }
}

export const kmsError = {
  validation: (message: string) => new KmsException('ValidationException', message),
  notFound: (message: string) => new KmsException('NotFoundException', message),
  disabled: (arn: string) => new KmsException('DisabledException', `${arn} is disabled.`),
  pendingDeletion: (arn: string) => new KmsException('KMSInvalidStateException', `${arn} is pending deletion.`),
  invalidState: (message: string) => new KmsException('KMSInvalidStateException', message),
  // KMS says nothing about why a ciphertext is refused; neither do we.
  invalidCiphertext: () => new KmsException('InvalidCiphertextException', ''),
  incorrectKey: () => new KmsException('IncorrectKeyException', 'The key ID in the request does not identify a CMK that can perform this operation.'),
  dryRun: () => new KmsException('DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.'),
  accessDenied: (message: string) => new KmsException('AccessDeniedException', message),
  alreadyExists: (message: string) => new KmsException('AlreadyExistsException', message),
  unsupported: (message: string) => new KmsException('UnsupportedOperationException', message),
  invalidAliasName: (message: string) => new KmsException('InvalidAliasNameException', message),
  malformedPolicy: (message: string) => new KmsException('MalformedPolicyDocumentException', message),
  invalidMarker: () => new KmsException('InvalidMarkerException', 'Invalid marker'),
  serialization: (message: string) => new KmsException('SerializationException', message),
  unknownOperation: () => new KmsException('UnknownOperationException', ''),
  internal: () => new KmsException('KMSInternalException', 'An internal error occurred.', 500),
};
