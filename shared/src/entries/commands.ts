/**
 * `@nitro-datakey/shared/commands`: the `nitro-datakey` command (verify, cms-decrypt, cms-encrypt,
 * policy, seal), kept apart from the CLI kit: it loads the verifier, CMS and, for seal, the KMS SDK.
 */
export { nitroDatakey, usage } from '../cli/main.js';
