import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { canonicalEncryptionContext } from '@nitro-datakey/shared';

/*
 * Our ciphertext blob: versioned and authenticated, never confused with AWS's own.
 *   v2: "NDKB" | 2 | key id length (1) | key id (ASCII uuid) | material version (2, big-endian) | IV (12) | ciphertext | GCM tag (16)
 *   v1: "NDKB" | 1 | key id length (1) | key id | IV | ciphertext | tag     (before rotation: material version 0)
 * AES-256-GCM under the key material of that version; the AAD is the header (so neither the key id
 * nor the material version can be swapped) followed by the canonical encoding of the encryption
 * context (so the context must match exactly). Rotation adds material; old versions stay readable.
 */
const MAGIC = Buffer.from('NDKB');
const VERSION = 2;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface ParsedBlob {
  readonly keyId: string;
  /** Which key material sealed it: 0 is the key's first, each rotation adds one. */
  readonly materialVersion: number;
  readonly header: Buffer;
  readonly iv: Buffer;
  readonly ciphertext: Buffer;
  readonly tag: Buffer;
}

export function sealBlob(
  keyId: string,
  materialVersion: number,
  material: Uint8Array,
  plaintext: Uint8Array,
  context: Readonly<Record<string, string>>,
): Uint8Array {
  const id = Buffer.from(keyId, 'ascii');
  const version = Buffer.alloc(2);
  version.writeUInt16BE(materialVersion);
  const header = Buffer.concat([MAGIC, Buffer.of(VERSION, id.length), id, version]);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', material, iv);
  cipher.setAAD(Buffer.concat([header, canonicalEncryptionContext(context)]));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return new Uint8Array(Buffer.concat([header, iv, ciphertext, cipher.getAuthTag()]));
}

/** Reads the header; `undefined` for anything that is not one of our blobs. */
export function parseBlob(bytes: Uint8Array): ParsedBlob | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 6 || !b.subarray(0, 4).equals(MAGIC) || (b[4] !== 1 && b[4] !== 2)) return undefined;
  const idLength = b[5] as number;
  const headerLength = 6 + idLength + (b[4] === 2 ? 2 : 0);
  if (b.length < headerLength + IV_BYTES + TAG_BYTES) return undefined;
  const keyId = b.subarray(6, 6 + idLength).toString('ascii');
  if (!/^[0-9a-f-]{36}$/.test(keyId)) return undefined;
  return {
    keyId,
    materialVersion: b[4] === 2 ? b.readUInt16BE(6 + idLength) : 0,
    header: b.subarray(0, headerLength),
    iv: b.subarray(headerLength, headerLength + IV_BYTES),
    ciphertext: b.subarray(headerLength + IV_BYTES, b.length - TAG_BYTES),
    tag: b.subarray(b.length - TAG_BYTES),
  };
}

/** The plaintext, or `undefined` when the blob, the key or the context is wrong. */
export function openBlob(blob: ParsedBlob, material: Uint8Array, context: Readonly<Record<string, string>>): Uint8Array | undefined {
  try {
    const decipher = createDecipheriv('aes-256-gcm', material, blob.iv);
    decipher.setAAD(Buffer.concat([blob.header, canonicalEncryptionContext(context)]));
    decipher.setAuthTag(blob.tag);
    return new Uint8Array(Buffer.concat([decipher.update(blob.ciphertext), decipher.final()]));
  } catch {
    return undefined;
  }
}
