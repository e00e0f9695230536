/** `@nitro-datakey/shared/credentials`: The credentials protocol between the parent's credentials route and the enclave, and the refreshing cache. */
export * from '../credentials/protocol.js';
