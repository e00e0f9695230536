import { NitroDatakeyError } from '../errors.js';
import { CborTag, decodeCbor, encodeCbor } from '../cbor/index.js';

export type CoseErrorCode = 'ERR_COSE_MALFORMED' | 'ERR_COSE_UNSUPPORTED_ALGORITHM';

export class CoseError extends NitroDatakeyError {
  declare readonly code: CoseErrorCode;

  constructor(code: CoseErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** COSE header label for the algorithm (RFC 9052 3.1) and the only algorithm accepted. */
export const HEADER_ALG = 1;
export const ALG_ES384 = -35;
export const COSE_SIGN1_TAG = 18;
/** r ‖ s, 48 bytes each (RFC 9053 2.1). */
export const ES384_SIGNATURE_LENGTH = 96;

export interface CoseSign1 {
  /** The protected header exactly as received: the signature covers these bytes, not a re-encoding. */
  readonly protectedBytes: Uint8Array;
  readonly protectedHeader: ReadonlyMap<number, unknown>;
  readonly unprotectedHeader: ReadonlyMap<unknown, unknown>;
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
}

export interface CoseDecodeOptions {
  readonly maxBytes?: number;
}

/** Decodes a COSE_Sign1, tagged (18) or not. Checks structure only: the attestation verifier checks the signature. */
export function decodeCoseSign1(bytes: Uint8Array, options: CoseDecodeOptions = {}): CoseSign1 {
  let value: unknown;
  try {
    value = decodeCbor(bytes, { allowedTags: [COSE_SIGN1_TAG], maxDepth: 8, ...(options.maxBytes ? { maxBytes: options.maxBytes } : {}) });
  } catch (cause) {
    throw malformed(cause instanceof Error ? cause.message : 'undecodable', cause);
  }
  if (value instanceof CborTag) value = value.value;
  if (!Array.isArray(value) || value.length !== 4) throw malformed('a COSE_Sign1 must be an array of 4 items');
  const [protectedBytes, unprotectedHeader, payload, signature] = value as unknown[];
  if (!(protectedBytes instanceof Uint8Array)) throw malformed('protected header must be a byte string');
  if (!(unprotectedHeader instanceof Map)) throw malformed('unprotected header must be a map');
  if (!(payload instanceof Uint8Array)) throw malformed('payload must be a byte string (detached payloads are not supported)');
  if (!(signature instanceof Uint8Array)) throw malformed('signature must be a byte string');
  // Tags inside the COSE structure would be meaningless here; decodeCbor's allow-list is per call, so re-check.
  if (containsTag(value)) throw malformed('tags are only allowed around the COSE_Sign1 itself');
  const protectedHeader = decodeProtectedHeader(protectedBytes);
  if (unprotectedHeader.has(HEADER_ALG)) throw malformed('the algorithm must be in the protected header');
  return { protectedBytes, protectedHeader, unprotectedHeader, payload, signature };
}

/** Encodes a COSE_Sign1, untagged by default as the NSM sends it. */
export function encodeCoseSign1(sign1: Omit<CoseSign1, 'protectedHeader'>, options: { tagged?: boolean } = {}): Uint8Array {
  const array = [sign1.protectedBytes, sign1.unprotectedHeader, sign1.payload, sign1.signature];
  return encodeCbor(options.tagged ? new CborTag(array, COSE_SIGN1_TAG) : array);
}

/** The `Sig_structure` for COSE_Sign1 (RFC 9052 4.4): `["Signature1", protected, external_aad, payload]`. */
export function sigStructure1(protectedBytes: Uint8Array, payload: Uint8Array, externalAad: Uint8Array = new Uint8Array(0)): Uint8Array {
  return encodeCbor(['Signature1', protectedBytes, externalAad, payload]);
}

/** The protected header bytes for ES384, as the NSM writes them: `{1: -35}`. */
export const ES384_PROTECTED_HEADER: Uint8Array = encodeCbor(new Map([[HEADER_ALG, ALG_ES384]]));

/** Refuses any algorithm but ES384. */
export function assertEs384(sign1: CoseSign1): void {
  const alg = sign1.protectedHeader.get(HEADER_ALG);
  if (alg !== ALG_ES384) {
    throw new CoseError('ERR_COSE_UNSUPPORTED_ALGORITHM', `unsupported COSE algorithm ${String(alg)}: only ES384 (-35) is accepted`);
  }
  if (sign1.protectedHeader.size !== 1) {
    // A second protected parameter (crit, for one) could change the meaning of the signature.
    throw new CoseError('ERR_COSE_UNSUPPORTED_ALGORITHM', 'unexpected parameters in the protected header besides the algorithm');
  }
}

function decodeProtectedHeader(bytes: Uint8Array): ReadonlyMap<number, unknown> {
  // An empty bstr means an empty header (RFC 9052 3); then there is no algorithm and assertEs384 refuses it.
  if (bytes.byteLength === 0) return new Map();
  let header: unknown;
  try {
    header = decodeCbor(bytes, { maxDepth: 4 });
  } catch (cause) {
    throw malformed('protected header is not valid CBOR', cause);
  }
  if (!(header instanceof Map)) throw malformed('protected header must encode a map');
  for (const key of header.keys()) {
    if (typeof key !== 'number') throw malformed('protected header labels must be integers');
  }
  return header as Map<number, unknown>;
}

function containsTag(value: unknown): boolean {
  if (value instanceof CborTag) return true;
  if (Array.isArray(value)) return value.some(containsTag);
  if (value instanceof Map) for (const [k, v] of value) if (containsTag(k) || containsTag(v)) return true;
  return false;
}

function malformed(message: string, cause?: unknown): CoseError {
  return new CoseError('ERR_COSE_MALFORMED', `malformed COSE_Sign1: ${message}`, cause === undefined ? undefined : { cause });
}
