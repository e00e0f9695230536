/** `@nitro-datakey/shared/kms-protocol`: KMS's JSON 1.1 wire protocol: framing, errors, ARNs and strict request readers. */
export * from '../kms-protocol/index.js';
