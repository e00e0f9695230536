import { kmsError, type KeyPairSpec } from '@nitro-datakey/shared';
import { openBlob, parseBlob, sealBlob } from '../ciphertext-blob.js';
import type { StoredKey } from '../keystore.js';
import type { OperationContext } from './context.js';
import { resolveKey } from './keys.js';
import { newKeyPair } from './key-specs.js';

/** The key a blob names; a blob that is not ours, or whose key is gone, is InvalidCiphertextException. */
export function decryptBlob(
  ctx: OperationContext,
  blobBytes: Uint8Array,
  keyIdHint?: string,
): { key: StoredKey; blob: NonNullable<ReturnType<typeof parseBlob>> } {
  const blob = parseBlob(blobBytes);
  if (!blob) throw kmsError.invalidCiphertext();
  const key = ctx.store.keys.get(blob.keyId);
  if (!key) throw kmsError.invalidCiphertext();
  if (keyIdHint !== undefined && resolveKey(ctx, keyIdHint).keyId !== key.keyId) throw kmsError.incorrectKey();
  return { key, blob };
}

/** The key's material history, oldest first: index = material version; the last one is current. */
function materials(key: StoredKey): string[] {
  return [...(key.previousMaterials ?? []), key.material];
}

export function open(key: StoredKey, blob: NonNullable<ReturnType<typeof parseBlob>>, context: Readonly<Record<string, string>>): Uint8Array {
  const material = materials(key)[blob.materialVersion];
  if (material === undefined) throw kmsError.invalidCiphertext();
  const plaintext = openBlob(blob, Buffer.from(material, 'base64'), context);
  if (!plaintext) throw kmsError.invalidCiphertext();
  return plaintext;
}

export function seal(key: StoredKey, plaintext: Uint8Array, context: Readonly<Record<string, string>>): Uint8Array {
  // Always the newest material: rotation changes what new ciphertexts use, never what old ones need.
  return sealBlob(key.keyId, key.previousMaterials?.length ?? 0, Buffer.from(key.material, 'base64'), plaintext, context);
}

export async function dataKeyPair(spec: KeyPairSpec): Promise<{ privateKey: Uint8Array; publicKey: Uint8Array }> {
  if (spec === 'SM2') throw kmsError.unsupported('KeyPairSpec SM2 is only supported in China Regions.');
  return newKeyPair(spec);
}
