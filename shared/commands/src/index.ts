/**
 * `@nitro-datakey/commands`: the `nitro-datakey` command (verify, inspect, cms-decrypt, cms-encrypt,
 * policy, seal) for operators and anyone checking attestation documents offline. Apart from
 * `@nitro-datakey/shared`, whose CLI kit the parent proxy uses: it loads the verifier and CMS, and for
 * `seal` the KMS SDK, an optional peer dependency of this package alone.
 */
export { nitroDatakey, usage } from './main.js';
