import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { Nsm } from '@nitro-datakey/shared';

export interface EnclaveRecipient {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** What goes into a KMS request's `Recipient`. */
  readonly recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256'; AttestationDocument: Uint8Array };
}

/** A fresh RSA-2048 key attested by `nsm`, as an enclave prepares an attested KMS call. */
export async function enclaveRecipient(nsm: Nsm, options: { nonce?: Uint8Array; modulusLength?: number } = {}): Promise<EnclaveRecipient> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: options.modulusLength ?? 2048 });
  const document = await nsm.attest({
    publicKey: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })),
    ...(options.nonce ? { nonce: options.nonce } : {}),
  });
  return { privateKey, publicKey, recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: document } };
}
