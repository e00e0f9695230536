import { NitroDatakeyError } from '@nitro-datakey/shared';

export type EnclaveErrorCode = 'ERR_NATIVE_ADDON_UNAVAILABLE';

/** Errors of the enclave package that no shared error class covers. */
export class EnclaveError extends NitroDatakeyError {
  declare readonly code: EnclaveErrorCode;

  constructor(code: EnclaveErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
