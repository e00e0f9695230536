import { readFile } from 'node:fs/promises';
import { openNsmDevice } from '@nitro-datakey/native';
import type { Nsm } from '@nitro-datakey/shared';
import { type Logger, silentLogger } from '@nitro-datakey/shared/cli';
import { parentCredentialsProvider } from '../credentials.js';
import { AttestedKmsClient, type CallOutcome } from '../kms/attested-client.js';
import type { EnclaveAppConfig } from './config.js';
import { type AttestedFront, startAttestedFront } from './attested-front.js';
import { startGateway, type Gateway } from './gateway.js';
import { type SecretRefresh, SecretsKeeper, type SecretsKeeperOptions } from './secrets-keeper.js';
import type { EnclaveMetrics } from './telemetry/enclave-metrics.js';
import { recordCall, recordGatewayRequest, recordSecret } from './telemetry/enclave-instruments.js';

export interface EnclaveApp {
  readonly client: AttestedKmsClient;
  readonly nsm: Nsm;
  readonly gateway?: string;
  /** Where the attested front listens, when configured. */
  readonly attestedHttp?: string;
  /** Names of the secrets written to the secrets directory at start. */
  readonly secrets: readonly string[];
  readonly moduleId: string;
  /** Fetches the parent's secrets again now and takes what is newer (also done on a timer). */
  refreshSecrets(): Promise<SecretRefresh[]>;
  close(): Promise<void>;
}

/** Builds the attested client the config describes (credentials from the parent's route). */
export async function createClient(config: EnclaveAppConfig, nsm: Nsm, onCall?: (call: CallOutcome) => void): Promise<AttestedKmsClient> {
  const ca = config.kms.caFile ? await readFile(config.kms.caFile, 'utf8') : undefined;
  return new AttestedKmsClient({
    nsm,
    region: config.region,
    transport: config.kms.transport,
    ...(config.kms.endpoint ? { endpoint: config.kms.endpoint } : {}),
    ...(config.kms.serverName ? { serverName: config.kms.serverName } : {}),
    ...(ca ? { ca } : {}),
    ...(config.kms.requestTimeoutMs ? { requestTimeoutMs: config.kms.requestTimeoutMs } : {}),
    ...(config.kms.allowedKeys ? { allowedKeys: config.kms.allowedKeys } : {}),
    credentials: parentCredentialsProvider({ address: config.credentials.transport }),
    ...(config.keys ? { keys: config.keys } : {}),
    ...(config.dataKeyCache ? { dataKeyCache: config.dataKeyCache } : {}),
    ...(onCall ? { onCall } : {}),
  });
}

export interface EnclaveAppOptions {
  /** The NSM to attest with. Default: the device, /dev/nsm. The dev kit passes its simulator here. */
  readonly nsm?: Nsm;
  readonly log?: Logger;
  /** Told when a secret file was replaced by a newer version (the supervisor signals the workload). */
  readonly onSecretRotated?: SecretsKeeperOptions['onRotated'];
  /** Told of every look at a secret (metrics). */
  readonly onSecretRefresh?: SecretsKeeperOptions['onRefresh'];
  /** Where envelopes of the parent's secrets come from (default: the configured secrets route). */
  readonly fetchEnvelope?: SecretsKeeperOptions['fetchEnvelope'];
  /** The enclave's metrics (attested calls, secrets, gateway requests), sent to the parent in heartbeats. */
  readonly metrics?: EnclaveMetrics;
}

/**
 * Boots the enclave app: opens every configured sealed secret into the secrets directory (0600
 * files, written atomically; the parent's are fetched again on a timer and rotate) and serves the
 * KMS-compatible gateway on loopback.
 *
 * @example
 * ```ts
 * const app = await startEnclaveApp(await loadEnclaveConfig('/app/config/enclave.json'));
 * // ... on shutdown
 * await app.close();
 * ```
 */
export async function startEnclaveApp(config: EnclaveAppConfig, options: EnclaveAppOptions = {}): Promise<EnclaveApp> {
  const log = options.log ?? silentLogger;
  const nsm = options.nsm ?? openNsmDevice();
  const description = await nsm.describe();
  const metrics = options.metrics;
  const client = await createClient(config, nsm, metrics ? (call) => recordCall(metrics, call) : undefined);
  await client.keys.warm(1);
  let gateway: Gateway | undefined;
  let front: AttestedFront | undefined;
  const keeper = config.secrets
    ? new SecretsKeeper(config.secrets, client, {
        log,
        ...(options.onSecretRotated ? { onRotated: options.onSecretRotated } : {}),
        onRefresh: (refresh) => {
          if (metrics) recordSecret(metrics, refresh);
          options.onSecretRefresh?.(refresh);
        },
        ...(options.fetchEnvelope ? { fetchEnvelope: options.fetchEnvelope } : {}),
      })
    : undefined;
  try {
    await keeper?.openAll();
    if (config.attestedHttp) {
      const { listen, upstream, maxBodyBytes, tls } = config.attestedHttp;
      front = await startAttestedFront(listen, new URL(upstream), nsm, { log, ...(maxBodyBytes ? { maxBodyBytes } : {}), ...(tls ? { tls } : {}) });
    }
    if (config.gateway) {
      gateway = await startGateway(config.gateway.listen, client, {
        log,
        ...(config.gateway.allowedUids ? { allowedUids: config.gateway.allowedUids } : {}),
        ...(config.gateway.maxConcurrentRequests ? { maxConcurrentRequests: config.gateway.maxConcurrentRequests } : {}),
        ...(metrics ? { onRequest: (r: { operation: string | null; status: number }) => recordGatewayRequest(metrics, r) } : {}),
        attest: (nonce: Uint8Array) => nsm.attest({ nonce }),
      });
    }
  } catch (e) {
    // Nothing half-booted stays behind: the gateway closed, the secrets opened so far removed.
    await gateway?.close();
    await front?.close();
    await keeper?.close();
    client.close();
    throw e;
  }
  keeper?.start();
  return {
    client,
    nsm,
    ...(gateway ? { gateway: gateway.address } : {}),
    ...(front ? { attestedHttp: front.address } : {}),
    secrets: keeper?.opened ?? [],
    moduleId: description.moduleId,
    refreshSecrets: () => keeper?.refresh() ?? Promise.resolve([]),
    // The opened secrets live as long as the app: removed when it stops, so no file outlives it.
    close: async () => {
      await gateway?.close();
      await front?.close();
      await keeper?.close();
      client.close();
    },
  };
}
