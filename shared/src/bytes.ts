import { InvalidArgumentError } from './errors.js';

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Strict hex decoding: an even number of hex digits, nothing else (an optional `0x` prefix is allowed). */
export function fromHex(hex: string, label = 'hex'): Uint8Array {
  const body = hex.startsWith('0x') || hex.startsWith('0X') ? hex.slice(2) : hex;
  if (!HEX_RE.test(body)) {
    throw new InvalidArgumentError(`${label} must be an even number of hexadecimal digits`);
  }
  return new Uint8Array(Buffer.from(body, 'hex'));
}

/** Constant-time-irrelevant equality for public values (fingerprints, PCRs, nonces). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** A plain Uint8Array view of `bytes` (drops Buffer's prototype without copying). */
export function asUint8Array(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Labelled input assertion, jose-style: `assertBytes(x, 'nonce')`. */
export function assertBytes(value: unknown, label: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new InvalidArgumentError(`${label} must be a Uint8Array`);
  }
}

/** Standard base64 of `bytes` (what KMS's JSON protocol carries). */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Strict standard base64 decoding (padding optional); anything else is an InvalidArgumentError naming `label`. */
export function fromBase64(text: string, label = 'base64'): Uint8Array {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) {
    throw new InvalidArgumentError(`${label} must be base64`);
  }
  return new Uint8Array(Buffer.from(text, 'base64'));
}

/**
 * Concatenates into a fresh, unpooled Uint8Array and zeroes every part: for key material, which must
 * not leave copies behind (Buffer.concat may allocate from Node's shared pool).
 */
export function concatWiping(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.byteLength;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
    part.fill(0);
  }
  return out;
}
