/**
 * `@nitro-datakey/shared`: the platform-free core both sides of the trust boundary use: CBOR, COSE,
 * X.509, the attestation verifier, the NSM codec and client, CMS CiphertextForRecipient, key policies
 * and the wire protocols between the parts. Nothing here touches a device, a socket or a KMS SDK.
 *
 * Each area is also a subpath of its own (`@nitro-datakey/shared/attestation`, `/cms`, `/nsm`,
 * `/credentials`, `/kms-protocol`, ...: see package.json), so a process loads only the areas it uses;
 * this root re-exports them all. An entry re-exports its area whole, except where the area's modules
 * also hold simulator-side encoders (attestation, COSE, ASN.1, CMS, NSM): those entries list their names. Encoders only a simulator or a KMS needs live in
 * `@nitro-datakey/shared/testing`; the command-line kit in `@nitro-datakey/shared/cli`, the
 * `nitro-datakey` commands in `@nitro-datakey/commands`.
 *
 * @example
 * ```ts
 * import { AttestationVerifier } from '@nitro-datakey/shared';
 * const verified = new AttestationVerifier().verify(document, { pcrs: new Map([[0, expectedPcr0]]) });
 * ```
 */
export * from './entries/errors.js';
export * from './entries/bytes.js';
export * from './entries/cbor.js';
export * from './entries/cose.js';
export * from './entries/asn1.js';
export * from './entries/x509.js';
export * from './entries/attestation.js';
export * from './entries/cms.js';
export * from './entries/nsm.js';
export * from './entries/encryption-context.js';
export * from './entries/sealed-secret.js';
export * from './entries/policy.js';
export * from './entries/loopback.js';
export * from './entries/credentials.js';
export * from './entries/secrets-route.js';
export * from './entries/telemetry.js';
export * from './entries/kms-protocol.js';
