import { NitroDatakeyError } from '../errors.js';

export type CborErrorCode =
  | 'ERR_CBOR_MALFORMED'
  | 'ERR_CBOR_TRAILING_BYTES'
  | 'ERR_CBOR_DUPLICATE_KEY'
  /** An integer or length not in its shortest form: two encodings of one value would let parsers disagree. */
  | 'ERR_CBOR_NOT_SHORTEST'
  | 'ERR_CBOR_UNSUPPORTED'
  | 'ERR_CBOR_TOO_LARGE'
  | 'ERR_CBOR_TOO_DEEP';

/** Messages carry the fixed prefix `CBOR decode error:` so logs grep cleanly (cborg's habit). */
export class CborError extends NitroDatakeyError {
  declare readonly code: CborErrorCode;

  constructor(code: CborErrorCode, detail: string, options?: { cause?: unknown }) {
    super(code, `CBOR decode error: ${detail}`, options);
  }
}
