import { constants, generateKeyPairSync, privateDecrypt } from 'node:crypto';
import { buildCiphertextForRecipient } from '@nitro-datakey/shared/testing';
import { decryptCiphertextForRecipient, parseCiphertextForRecipient } from '@nitro-datakey/shared';
import { benchInterleaved, printTable, type BenchResult } from './harness.js';

/** decryptCiphertextForRecipient per message beside the one RSA-2048 OAEP decrypt it cannot avoid. */
export function cmsBenchmarks(): void {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const small = buildCiphertextForRecipient(new Uint8Array(32), publicKey);
  const large = buildCiphertextForRecipient(new Uint8Array(4096), publicKey);
  const wrapped = parseCiphertextForRecipient(small).recipient.encryptedKey;
  const [bare, decrypt32, decrypt4k, build32] = benchInterleaved([
    {
      name: 'bare RSA-2048 OAEP-SHA256 privateDecrypt',
      perRound: 40,
      fn: () => privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, wrapped),
    },
    { name: 'decryptCiphertextForRecipient, 32-byte data key', perRound: 40, fn: () => decryptCiphertextForRecipient(small, privateKey) },
    { name: 'decryptCiphertextForRecipient, 4 KiB plaintext', perRound: 40, fn: () => decryptCiphertextForRecipient(large, privateKey) },
    {
      name: 'buildCiphertextForRecipient, 32 bytes (what the local KMS does)',
      perRound: 40,
      fn: () => buildCiphertextForRecipient(new Uint8Array(32), publicKey),
    },
  ]) as [BenchResult, BenchResult, BenchResult, BenchResult];
  printTable('CiphertextForRecipient (RSA-2048 recipient)', [bare, decrypt32, decrypt4k, build32], bare);
}
