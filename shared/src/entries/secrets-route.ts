/** `@nitro-datakey/shared/secrets-route`: The secrets route between the enclave and the parent: one envelope per connection, by name. */
export * from '../secrets-route/protocol.js';
