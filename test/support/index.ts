/* Helpers for the suites and benchmarks only: not part of any published package. */
export { vectorsDir, readVector, vectorsAvailable, vectorsSkipReason, projectRoot } from './vectors.js';
export { tcpServer, sendRandom, receiveAll } from './proxy-helpers.js';
export { spawnProxy, proxyBinPath, readMetric, type ProxyReady } from './proxy-process.js';
export { nativeEmulation } from './native-emulation.js';
// Fixtures only the suites use (kept out of the published dev kit).
export { buildAttestationDocument, makePcrs, rawPayloadFields, signPayload, type DocumentSpec } from './attestation-builder.js';
export { enclaveRecipient } from './recipient-fixture.js';
export { spawnLocalKms, kmsBinPath } from './kms-process.js';
export { kernelShimEnv } from './kernel-shim-env.js';
/** An identity policy granting every KMS action: what a real administrator's IAM gives it (the local KMS models IAM strictly). */
export const IAM_ALLOW_ALL_KMS = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] });

/** A call's outcome as a test compares it: 'OK', or the name of the error it failed with. */
export const outcome = (call: Promise<unknown>): Promise<string> =>
  call.then(
    () => 'OK',
    (e: Error) => e.name,
  );
export { kmsCallers } from './kms-callers.js';
export { stackEnclaveConfig } from './enclave-config.js';
export { attestationCases, type AttestationCase } from './attestation-cases.js';
export { chromiumSkipReason, launchChromium } from './chromium.js';
export { startVerifyPage } from './verify-page-process.js';
export { freePort } from './free-port.js';
