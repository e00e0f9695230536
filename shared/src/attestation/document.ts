import { asUint8Array } from '../bytes.js';
import { decodeCbor, encodeCbor } from '../cbor/index.js';
import { decodeCoseSign1, type CoseSign1 } from '../cose/sign1.js';
import { AttestationError } from './errors.js';

/** An attestation document's payload, typed. Absent optional fields are `null`. */
export interface AttestationDocument {
  readonly moduleId: string;
  readonly digest: 'SHA384';
  /** Milliseconds since the Unix epoch, as the NSM wrote it. */
  readonly timestamp: number;
  readonly pcrs: ReadonlyMap<number, Uint8Array>;
  /** DER of the leaf certificate that signed the document. */
  readonly certificate: Uint8Array;
  /** DER certificates, root first, then intermediates toward the leaf. */
  readonly cabundle: readonly Uint8Array[];
  readonly publicKey: Uint8Array | null;
  readonly userData: Uint8Array | null;
  readonly nonce: Uint8Array | null;
}

/** The NSM's response buffer is 0x3000 bytes; real documents are 4-5 KiB. KMS accepts up to 256 KiB. */
export const DEFAULT_MAX_DOCUMENT_BYTES = 16 * 1024;
/** Our own bound on cabundle: AWS chains have 4 entries, and every entry costs a signature check. */
export const MAX_CABUNDLE_LENGTH = 16;

const FIELD_ORDER = ['module_id', 'digest', 'timestamp', 'pcrs', 'certificate', 'cabundle', 'public_key', 'user_data', 'nonce'] as const;
const REQUIRED = new Set(['module_id', 'digest', 'timestamp', 'pcrs', 'certificate', 'cabundle']);
const PCR_LENGTHS = new Set([32, 48, 64]);

export interface DecodedAttestation {
  readonly sign1: CoseSign1;
  readonly document: AttestationDocument;
}

/**
 * Decodes a COSE_Sign1 attestation document and its payload, applying every field rule, without
 * checking any signature or certificate: use `AttestationVerifier` for that.
 */
export function decodeAttestation(bytes: Uint8Array, options: { maxBytes?: number } = {}): DecodedAttestation {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_DOCUMENT_BYTES;
  if (!(bytes instanceof Uint8Array)) throw malformed('the document must be a Uint8Array');
  if (bytes.byteLength > maxBytes) throw malformed(`the document is ${bytes.byteLength} bytes, over the limit of ${maxBytes}`);
  let sign1: CoseSign1;
  try {
    sign1 = decodeCoseSign1(bytes, { maxBytes });
  } catch (cause) {
    throw malformed(cause instanceof Error ? cause.message : 'not a COSE_Sign1', cause);
  }
  return { sign1, document: parseAttestationPayload(sign1.payload) };
}

/** Parses the payload map (definite or indefinite length) of an attestation document. */
export function parseAttestationPayload(payload: Uint8Array): AttestationDocument {
  let map: unknown;
  try {
    map = decodeCbor(payload, { maxDepth: 4 });
  } catch (cause) {
    throw malformed(`payload: ${cause instanceof Error ? cause.message : 'undecodable'}`, cause);
  }
  if (!(map instanceof Map)) throw malformed('payload must be a map');
  for (const key of map.keys()) {
    if (typeof key !== 'string' || !(FIELD_ORDER as readonly string[]).includes(key)) {
      // Unknown fields are refused: a verifier that skips what it does not understand is not failing closed.
      throw malformed(`payload has an unknown field ${JSON.stringify(key)}`);
    }
  }
  for (const key of REQUIRED) if (!map.has(key)) throw malformed(`payload is missing the required field ${key}`);
  const get = (key: string): unknown => map.get(key);

  const moduleId = get('module_id');
  if (typeof moduleId !== 'string' || moduleId.length === 0) throw malformed('module_id must be a non-empty text string');
  if (get('digest') !== 'SHA384') throw malformed(`digest must be "SHA384", found ${describe(get('digest'))}`);
  const timestamp = readTimestamp(get('timestamp'));
  const pcrs = readPcrs(get('pcrs'));
  const certificate = readBytes(get('certificate'), 'certificate', 1, 1024);
  const cabundleValue = get('cabundle');
  if (!Array.isArray(cabundleValue) || cabundleValue.length < 1 || cabundleValue.length > MAX_CABUNDLE_LENGTH) {
    throw malformed(`cabundle must be an array of 1 to ${MAX_CABUNDLE_LENGTH} certificates`);
  }
  const cabundle = cabundleValue.map((c: unknown, i) => readBytes(c, `cabundle[${i}]`, 1, 1024));
  // public_key's rules say 1..1024 bytes, but real documents send an empty byte string for "none":
  // read that as absent rather than refusing a genuine document.
  const publicKey = readOptional(get('public_key'), 'public_key', 0, 1024);
  return {
    moduleId,
    digest: 'SHA384',
    timestamp,
    pcrs,
    certificate,
    cabundle,
    publicKey: publicKey !== null && publicKey.byteLength === 0 ? null : publicKey,
    // 1024, as the device accepts (see NSM_LIMITS): a genuine document may carry that much.
    userData: readOptional(get('user_data'), 'user_data', 0, 1024),
    nonce: readOptional(get('nonce'), 'nonce', 0, 1024),
  };
}

/** Encodes a payload in the NSM's layout: definite-length map, fields in the NSM's order, null for absent fields. */
export function encodeAttestationPayload(document: AttestationDocument): Uint8Array {
  const pcrs = new Map<number, Uint8Array>([...document.pcrs.entries()].sort(([a], [b]) => a - b));
  return encodeCbor({
    module_id: document.moduleId,
    digest: document.digest,
    timestamp: BigInt(document.timestamp), // a bigint so cbor-x writes a uint, never a float
    pcrs,
    certificate: document.certificate,
    cabundle: document.cabundle,
    public_key: document.publicKey,
    user_data: document.userData,
    nonce: document.nonce,
  });
}

/** Debug-mode enclaves report PCR0, PCR1 and PCR2 as all zeros. */
export function isDebugMode(document: AttestationDocument): boolean {
  return [0, 1, 2].every((i) => {
    const pcr = document.pcrs.get(i);
    return pcr?.every((b) => b === 0) === true;
  });
}

function readTimestamp(value: unknown): number {
  const n = typeof value === 'bigint' && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw malformed('timestamp must be an unsigned integer of milliseconds');
  // AWS's validation procedure requires a timestamp above zero: an NSM never reports the epoch itself.
  if (n === 0) throw malformed('timestamp must be greater than 0');
  return n;
}

function readPcrs(value: unknown): Map<number, Uint8Array> {
  if (!(value instanceof Map) || value.size < 1 || value.size > 32) throw malformed('pcrs must be a map of 1 to 32 entries');
  const pcrs = new Map<number, Uint8Array>();
  for (const [index, pcr] of value as Map<unknown, unknown>) {
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index > 31) {
      throw malformed(`pcrs index ${describe(index)} is not an integer from 0 to 31`);
    }
    if (!(pcr instanceof Uint8Array) || !PCR_LENGTHS.has(pcr.byteLength)) {
      throw malformed(`pcrs[${index}] must be a byte string of 32, 48 or 64 bytes`);
    }
    pcrs.set(index, asUint8Array(pcr));
  }
  return pcrs;
}

function readBytes(value: unknown, field: string, min: number, max: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw malformed(`${field} must be a byte string, found ${describe(value)}`);
  if (value.byteLength < min || value.byteLength > max) {
    throw malformed(`${field} is ${value.byteLength} bytes; it must be ${min} to ${max}`);
  }
  return asUint8Array(value);
}

function readOptional(value: unknown, field: string, min: number, max: number): Uint8Array | null {
  return value === null || value === undefined ? null : readBytes(value, field, min, max);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return `a byte string of ${value.byteLength} bytes`;
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Map) return 'a map';
  return typeof value === 'string' ? JSON.stringify(value) : typeof value;
}

function malformed(message: string, cause?: unknown): AttestationError {
  return new AttestationError('ERR_ATTESTATION_MALFORMED', `malformed attestation document: ${message}`, cause === undefined ? undefined : { cause });
}
