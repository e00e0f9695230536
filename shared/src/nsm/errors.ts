import { NitroDatakeyError } from '../errors.js';

/** The NSM's own error names (serde's ErrorCode enum), as they arrive in `{"Error": "..."}`. */
export const NSM_DEVICE_ERRORS = [
  'Success',
  'InvalidArgument',
  'InvalidIndex',
  'InvalidResponse',
  'ReadOnlyIndex',
  'InvalidOperation',
  'BufferTooSmall',
  'InputTooLarge',
  'InternalError',
] as const;
export type NsmDeviceError = (typeof NSM_DEVICE_ERRORS)[number];

export type NsmErrorCode =
  | 'ERR_NSM_SUCCESS_AS_ERROR'
  | 'ERR_NSM_INVALID_ARGUMENT'
  | 'ERR_NSM_INVALID_INDEX'
  | 'ERR_NSM_INVALID_RESPONSE'
  | 'ERR_NSM_READ_ONLY_INDEX'
  | 'ERR_NSM_INVALID_OPERATION'
  | 'ERR_NSM_BUFFER_TOO_SMALL'
  | 'ERR_NSM_INPUT_TOO_LARGE'
  | 'ERR_NSM_INTERNAL_ERROR'
  /** A message that is not what the protocol allows (undecodable, wrong variant, wrong field types). */
  | 'ERR_NSM_PROTOCOL'
  /** No NSM device here: not inside a Nitro Enclave, or the native addon is not built. */
  | 'ERR_NSM_DEVICE_UNAVAILABLE'
  /** The device call itself failed (the ioctl returned an OS error). */
  | 'ERR_NSM_DEVICE_IO';

const CODE_OF: Readonly<Record<NsmDeviceError, NsmErrorCode>> = {
  Success: 'ERR_NSM_SUCCESS_AS_ERROR',
  InvalidArgument: 'ERR_NSM_INVALID_ARGUMENT',
  InvalidIndex: 'ERR_NSM_INVALID_INDEX',
  InvalidResponse: 'ERR_NSM_INVALID_RESPONSE',
  ReadOnlyIndex: 'ERR_NSM_READ_ONLY_INDEX',
  InvalidOperation: 'ERR_NSM_INVALID_OPERATION',
  BufferTooSmall: 'ERR_NSM_BUFFER_TOO_SMALL',
  InputTooLarge: 'ERR_NSM_INPUT_TOO_LARGE',
  InternalError: 'ERR_NSM_INTERNAL_ERROR',
};

export class NsmError extends NitroDatakeyError {
  declare readonly code: NsmErrorCode;
  /** The device's error name when the NSM answered `{"Error": ...}` (or the client refused for the same reason). */
  readonly deviceError: NsmDeviceError | undefined;

  constructor(code: NsmErrorCode, message: string, options?: { cause?: unknown; deviceError?: NsmDeviceError }) {
    super(code, message, options);
    this.deviceError = options?.deviceError;
  }

  static fromDevice(error: NsmDeviceError, operation: string): NsmError {
    return new NsmError(CODE_OF[error], `NSM refused ${operation}: ${error}`, { deviceError: error });
  }
}
