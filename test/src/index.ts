export { generateP384KeyPair, type P384KeyPair } from './nsm/keys.js';
export { issueCertificate, certificateToPem, pemToDer, KeyUsageFlags, X509Extension, type CertificateSpec, type IssuedCertificate } from './nsm/certificates.js';
export { NitroPki, LEAF_LIFETIME_MS, type NitroChain, type ChainOptions } from './nsm/pki.js';
export { vectorsDir, readVector, vectorsAvailable } from './vectors.js';
export { buildAttestationDocument, documentFor, makePcrs, rawPayloadFields, signPayload, type DocumentSpec } from './attestation-builder.js';
export { SimulatedNsm, type SimulatedNsmOptions } from './nsm/simulated-nsm.js';
export { parseMeasurements, readMeasurements, extendPcr, syntheticMeasurements, type PcrValues } from './nsm/measurements.js';
export { nitroSim } from './cli/nitro-sim.js';
export * from './kms/index.js';
