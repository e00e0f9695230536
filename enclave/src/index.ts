/**
 * `@nitro-datakey/enclave`: what runs inside a Nitro Enclave. The attested KMS client (every call
 * carries a fresh attestation document as Recipient; plaintext never crosses the parent), sealed
 * secrets, the credentials client of the parent's route, and the enclave app with its gateway.
 *
 * @example
 * ```ts
 * import { openNsmDevice } from '@nitro-datakey/native';
 * import { AttestedKmsClient, parentCredentialsProvider } from '@nitro-datakey/enclave';
 * const kms = new AttestedKmsClient({
 *   nsm: openNsmDevice(),
 *   region: 'us-east-1',
 *   transport: 'vsock:3:8000',
 *   credentials: parentCredentialsProvider({ address: 'vsock:3:8002' }),
 * });
 * const { plaintext, ciphertextBlob } = await kms.generateDataKey({ KeyId: keyArn, KeySpec: 'AES_256' });
 * ```
 */
export { AttestedKmsError, EnclaveConfigError, SecretRollbackError, SecretsDirectoryError, type AttestedKmsErrorCode } from './errors.js';
// The envelope format is shared with the operator's sealer; re-exported so enclave code needs one import.
export {
  SealedSecretError,
  parseSealedSecret,
  SEALED_SECRET_FORMAT,
  SECRET_NAME_CONTEXT_KEY,
  SECRET_VERSION_CONTEXT_KEY,
  sealedSecretVersion,
  type SealedSecret,
  type SealedSecretErrorCode,
} from '@nitro-datakey/shared';
export { parentCredentialsProvider, fetchParentCredentials, type ParentCredentialsOptions } from './credentials.js';
export { AttestedKmsClient, type AttestedKmsClientOptions, type DataKey, type DataKeyPair } from './kms/attested-client.js';
export { attestationPlugin, keyArnResolver, type AttestationPluginOptions, type CallTiming } from './kms/attestation-plugin.js';
export { KeyManager, DEFAULT_KEY_POLICY, type KeyManagerOptions, type KeyManagerStats, type RecipientKey } from './kms/key-manager.js';
export { DataKeyCache, type DataKeyCacheOptions } from './kms/data-key-cache.js';
export { transportAgent, type TransportAgentOptions } from './kms/transport-agent.js';
export { AMAZON_TRUST_ROOT_FINGERPRINTS, amazonTrustRoots, kmsTrustAnchors } from './kms/trust-roots.js';
export { sealSecret, openSecret, type SealOptions, type OpenOptions } from './sealed-secret.js';
export { prepareSecretsDirectory, writeSecretFile } from './app/secrets-dir.js';
export { parseEnclaveConfig, loadEnclaveConfig, type EnclaveAppConfig, type SecretItemConfig, type SecretsConfig } from './app/config.js';
export { SecretsKeeper, DEFAULT_SECRETS_REFRESH_MS, type SecretRefresh, type SecretsKeeperOptions } from './app/secrets-keeper.js';
export { fetchSecretEnvelope } from './secrets-route-client.js';
export { TelemetryLink, type TelemetryLinkOptions } from './app/telemetry/telemetry-link.js';
export { EnclaveMetrics } from './app/telemetry/enclave-metrics.js';
export { forwardLines } from './app/telemetry/output-lines.js';
export { startEnclaveApp, createClient, type EnclaveApp, type EnclaveAppOptions } from './app/app.js';
export { startGateway, type Gateway, type GatewayKms, type GatewayOptions } from './app/gateway.js';
export { nitroEnclave, type NitroEnclaveOptions } from './app/cli.js';
export { superviseWorkload, workloadEnvironment, WORKLOAD_ENV, EXIT_WORKLOAD_NOT_STARTED, type SuperviseOptions, type Spawn } from './app/supervisor.js';
