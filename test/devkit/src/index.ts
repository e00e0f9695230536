/**
 * `@nitro-datakey/devkit`: everything a developer needs on a machine without Nitro hardware. A
 * simulated Nitro PKI and NSM whose documents are laid out and signed like real ones, a local KMS
 * that honours Recipient as AWS does, and the whole attested path on one machine (`startStack`).
 * Never install it in an enclave image or on a parent instance.
 *
 * @example
 * ```ts
 * import { NitroPki, SimulatedNsm, startLocalKms } from '@nitro-datakey/devkit';
 * const pki = await NitroPki.create();
 * const nsm = await SimulatedNsm.client({ pki });
 * const kms = await startLocalKms({ tls: true, trustedRootFingerprints: [pki.rootFingerprint] });
 * ```
 */
export { generateP384KeyPair, type P384KeyPair } from './nsm/keys.js';
export {
  issueCertificate,
  certificateToPem,
  pemToDer,
  KeyUsageFlags,
  X509Extension,
  type CertificateSpec,
  type IssuedCertificate,
} from './nsm/certificates.js';
export { NitroPki, LEAF_LIFETIME_MS, type NitroChain, type ChainOptions } from './nsm/pki.js';
export { SimulatedNsm, type SimulatedNsmOptions } from './nsm/simulated-nsm.js';
export { serveNsmDevice, type NsmDeviceServer, type NsmDeviceServerOptions } from './nsm/device-server.js';
export { parseMeasurements, readMeasurements, extendPcr, syntheticMeasurements, type PcrValues } from './nsm/measurements.js';
export { nitroSim } from './cli/nitro-sim.js';
export { nitroKmsLocal } from './cli/nitro-kms-local.js';
export { startLocalKms, type LocalKms, type LocalKmsOptions } from './kms/server.js';
export { parseFaultConfig, type FaultConfig, type FaultCount, type FaultKind } from './kms/faults/config.js';
export { FaultInjector } from './kms/faults/injector.js';
export { KeyStore, type StoredKey, type StoredAlias } from './kms/keystore.js';
export { auditEvent, type AuditEvent } from './kms/audit.js';
export { readSeedFile, type SeedFile, type SeedKey } from './kms/seed.js';
export { localKmsClient } from './kms/sdk-client.js';
export { loadOrCreateTls, type TlsMaterial } from './kms/tls.js';
export { spawnReady, builtScript, type ReadyProcess } from './process.js';
export { startStack, type Stack } from './stack.js';
