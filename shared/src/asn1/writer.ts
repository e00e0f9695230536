import { concatBytes } from '../bytes.js';
import { InvalidArgumentError } from '../errors.js';

/** Minimal DER/BER writer: enough to emit the exact CMS layout KMS uses. */

/** Universal and context tag octets used by the writers here. */
export const TagByte = {
  Integer: 0x02,
  OctetString: 0x04,
  Null: 0x05,
  Oid: 0x06,
  Sequence: 0x30,
  Set: 0x31,
  context: (n: number, constructed: boolean): number => 0x80 | (constructed ? 0x20 : 0) | n,
} as const;

function lengthOctets(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return concatBytes(...parts);
}

/** A definite-length TLV (DER). */
export function derTlv(tag: number, ...content: readonly Uint8Array[]): Uint8Array {
  const body = concat(content);
  return concat([Uint8Array.of(tag), lengthOctets(body.byteLength), body]);
}

/** A constructed TLV with indefinite length and end-of-contents octets (BER). */
export function berIndefinite(tag: number, ...content: readonly Uint8Array[]): Uint8Array {
  return concat([Uint8Array.of(tag, 0x80), ...content, Uint8Array.of(0, 0)]);
}

export function derSmallInteger(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 127) throw new InvalidArgumentError('derSmallInteger takes 0..127');
  return derTlv(TagByte.Integer, Uint8Array.of(value));
}

export function derOid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map(Number);
  const [first = 0, second = 0, ...rest] = arcs;
  const body: number[] = [];
  for (const arc of [first * 40 + second, ...rest]) {
    const chunk: number[] = [arc & 0x7f];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) chunk.unshift(0x80 | (n & 0x7f));
    body.push(...chunk);
  }
  return derTlv(TagByte.Oid, Uint8Array.from(body));
}

export const DER_NULL = Uint8Array.of(TagByte.Null, 0);

export { concat as concatDer };
