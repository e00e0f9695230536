import { InvalidArgumentError } from './errors.js';

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

// Pure JavaScript throughout (no Buffer): this module is on the verifier's path, which runs in
// browsers and workers as well as Node.
const HEX_DIGITS: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.byteLength; i++) out += HEX_DIGITS[bytes[i] as number];
  return out;
}

/** Strict hex decoding: an even number of hex digits, nothing else (an optional `0x` prefix is allowed). */
export function fromHex(hex: string, label = 'hex'): Uint8Array {
  const body = hex.startsWith('0x') || hex.startsWith('0X') ? hex.slice(2) : hex;
  if (!HEX_RE.test(body)) {
    throw new InvalidArgumentError(`${label} must be an even number of hexadecimal digits`);
  }
  const out = new Uint8Array(body.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(body.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Each byte as one character (U+0000-U+00FF): exact for ASCII fields and usable as a map key for any bytes. */
export function latin1String(bytes: Uint8Array): string {
  let out = '';
  // Chunks keep fromCharCode's argument list far below engines' limits.
  for (let i = 0; i < bytes.byteLength; i += 8192) out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return out;
}

/** Constant-time-irrelevant equality for public values (fingerprints, PCRs, nonces). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.byteLength;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
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
  return btoa(latin1String(bytes));
}

/** Strict standard base64 decoding (padding optional); anything else is an InvalidArgumentError naming `label`. */
export function fromBase64(text: string, label = 'base64'): Uint8Array {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) {
    throw new InvalidArgumentError(`${label} must be base64`);
  }
  const padded = text.replace(/=+$/, '');
  let binary: string;
  try {
    binary = atob(padded + '='.repeat((4 - (padded.length % 4)) % 4));
  } catch (cause) {
    throw new InvalidArgumentError(`${label} must be base64`, { cause });
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/**
 * Concatenates into a fresh Uint8Array (never a pooled Buffer) and zeroes every part: for key
 * material, which must not leave copies behind.
 */
export function concatWiping(parts: readonly Uint8Array[]): Uint8Array {
  const out = concatBytes(...parts);
  for (const part of parts) part.fill(0);
  return out;
}
