import { NitroDatakeyError } from '@nitro-datakey/shared';

export type DevkitErrorCode =
  /** A local KMS data directory holds state this version cannot read. */
  | 'ERR_KMS_DATA_DIR'
  /** A local KMS fault configuration (option or admin request) that is not valid. */
  | 'ERR_KMS_FAULT_CONFIG'
  /** A fault admin request without the admin token of the ready line (an HTTP 401 body, never thrown). */
  | 'ERR_KMS_FAULT_ADMIN_TOKEN'
  /** A spawned dev kit process exited, or printed no ready line in time. */
  | 'ERR_PROCESS_NOT_READY';

/**
 * The dev kit's own errors. Bad options and input files are InvalidArgumentError (shared); a local
 * KMS answers with KmsServiceException; the simulated NSM fails as the device would (NsmError).
 */
export class DevkitError extends NitroDatakeyError {
  declare readonly code: DevkitErrorCode;

  constructor(code: DevkitErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
