/** `@nitro-datakey/shared/encryption-context`: The canonical encoding of a KMS encryption context. */
export * from '../encryption-context.js';
