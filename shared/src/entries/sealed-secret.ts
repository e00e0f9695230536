/** `@nitro-datakey/shared/sealed-secret`: The sealed-secret envelope: a data key wrapped by KMS beside the AES-256-GCM ciphertext it opens. */
export * from '../sealed-secret/envelope.js';
export * from '../sealed-secret/secret-version.js';
