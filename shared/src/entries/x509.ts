/** `@nitro-datakey/shared/x509`: X.509 certificates as the attestation chain needs them: parsing, signatures, constraints. */
export * from '../x509/index.js';
