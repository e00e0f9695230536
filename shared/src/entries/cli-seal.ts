/**
 * `@nitro-datakey/shared/cli/seal`: the one reading of a `seal` command line, shared by the operator's
 * `nitro-datakey seal` and the enclave's `nitro-enclave seal` so both answer a mistake alike. Apart from
 * the `/cli` kit, which the parent proxy loads and which holds no sealed-secret code.
 */
export * from '../sealed-secret/seal-request.js';
