import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { concatWiping, decryptCiphertextForRecipient } from '@nitro-datakey/shared';
import { buildCiphertextForRecipient } from '@nitro-datakey/shared/testing';

/** Whether `bytes` lives in a buffer of its own (not a slice of Node's shared 8 KiB pool). */
const ownsItsBuffer = (bytes: Uint8Array) => bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.byteLength;

describe('key material leaves no copies in shared memory', () => {
  it("Buffer.concat, the old way, lands small results in Node's shared pool (what this guards against)", () => {
    const pooled = Buffer.concat([Buffer.from([1, 2]), Buffer.from([3])]);
    expect(ownsItsBuffer(pooled)).toBe(false);
  });

  it('concatWiping returns an unpooled array and zeroes every part', () => {
    const parts = [new Uint8Array([1, 2]), new Uint8Array([3])];
    const out = concatWiping(parts);
    expect(out).toEqual(new Uint8Array([1, 2, 3]));
    expect(ownsItsBuffer(out)).toBe(true);
    expect(parts.every((p) => p.every((b) => b === 0))).toBe(true);
  });

  it('a decrypted data key sits in its own buffer, which the caller can zero completely', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const dataKey = decryptCiphertextForRecipient(buildCiphertextForRecipient(new Uint8Array(32).fill(7), publicKey), privateKey);
    expect(dataKey).toEqual(new Uint8Array(32).fill(7));
    expect(ownsItsBuffer(dataKey)).toBe(true);
  });
});
