import { NitroDatakeyError } from '@nitro-datakey/shared/errors';

export type NativeLayerErrorCode =
  /** The C addon is not built or cannot be loaded on this platform. */
  | 'ERR_NATIVE_ADDON_UNAVAILABLE'
  /** An address is not `vsock:CID:PORT`, `tcp:HOST:PORT` or `unix:PATH`. */
  | 'ERR_INVALID_ADDRESS'
  /** A Unix socket path holds a live socket (another server) or something that is not a socket. */
  | 'ERR_UNIX_SOCKET_PATH';

/** Errors of the native layer itself. OS errors from sockets keep Node's shape (`code` is the errno name). */
export class NativeLayerError extends NitroDatakeyError {
  declare readonly code: NativeLayerErrorCode;

  constructor(code: NativeLayerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
