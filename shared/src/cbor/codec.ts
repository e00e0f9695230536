import { Decoder, Encoder, Tag, type Options } from 'cbor-x';
import { CborError } from './errors.js';
import { scanCbor, type CborScanOptions } from './scan.js';

export { Tag as CborTag };

export interface CborDecodeOptions extends CborScanOptions {
  /** Largest input accepted, checked before anything else. Default 1 MiB. */
  readonly maxBytes?: number;
}

// Maps decode as Map (keys keep their CBOR type), byte strings as Uint8Array, 64-bit ints as bigint.
// Options cbor-x reads but its typings omit.
type ExtraOptions = Options & { int64AsNumber?: boolean; useTag259ForMaps?: boolean };

const decoder = new Decoder({ mapsAsObjects: false, useRecords: false, int64AsNumber: false } as ExtraOptions);

// Byte strings without tag 64, Maps without tag 259, minimal map headers. Integers above 2^32 must be
// passed as bigint: cbor-x would write a JS number that large as a float.
const encoder = new Encoder({
  useRecords: false,
  tagUint8Array: false,
  variableMapSize: true,
  mapsAsObjects: false,
  useTag259ForMaps: false,
  pack: false,
} as ExtraOptions);

/**
 * Strict decoding: the input is scanned first (see `scanCbor`), then decoded by cbor-x.
 * Byte strings come back as plain `Uint8Array`s that copy nothing from pooled buffers.
 */
export function decodeCbor(bytes: Uint8Array, options: CborDecodeOptions = {}): unknown {
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  if (!(bytes instanceof Uint8Array)) throw new CborError('ERR_CBOR_MALFORMED', 'input must be a Uint8Array');
  if (bytes.byteLength === 0) throw new CborError('ERR_CBOR_MALFORMED', 'empty input');
  if (bytes.byteLength > maxBytes) {
    throw new CborError('ERR_CBOR_TOO_LARGE', `input of ${bytes.byteLength} bytes exceeds the limit of ${maxBytes}`);
  }
  scanCbor(bytes, options);
  try {
    return normalize(decoder.decode(bytes));
  } catch (cause) {
    // The scan accepted it, so this is a cbor-x limitation rather than bad input; still a typed error.
    throw new CborError('ERR_CBOR_MALFORMED', cause instanceof Error ? cause.message : 'undecodable input', { cause });
  }
}

export function encodeCbor(value: unknown): Uint8Array {
  const out = encoder.encode(value);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** Buffers become plain Uint8Array copies so callers never hold a view into cbor-x's or Node's pools. */
function normalize(value: unknown): unknown {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(normalize);
  if (value instanceof Map) {
    const out = new Map<unknown, unknown>();
    for (const [k, v] of value) out.set(k, normalize(v));
    return out;
  }
  if (value instanceof Tag) return new Tag(normalize(value.value), value.tag);
  return value;
}
