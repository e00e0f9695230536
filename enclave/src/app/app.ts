import { readFile } from 'node:fs/promises';
import { openNsmDevice } from '@nitro-datakey/native';
import type { Nsm } from '@nitro-datakey/shared';
import { type Logger, silentLogger } from '@nitro-datakey/shared/cli';
import { parentCredentialsProvider } from '../credentials.js';
import { AttestedKmsClient } from '../kms/attested-client.js';
import { openSecret } from '../sealed-secret.js';
import type { EnclaveAppConfig } from './config.js';
import { startGateway, type Gateway } from './gateway.js';
import { prepareSecretsDirectory, removeSecretFiles, writeSecretFile } from './secrets-dir.js';

export interface EnclaveApp {
  readonly client: AttestedKmsClient;
  readonly nsm: Nsm;
  readonly gateway?: string;
  /** Names of the secrets written to the secrets directory. */
  readonly secrets: readonly string[];
  readonly moduleId: string;
  close(): Promise<void>;
}

/** Builds the attested client the config describes (credentials from the parent's route). */
export async function createClient(config: EnclaveAppConfig, nsm: Nsm): Promise<AttestedKmsClient> {
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
  });
}

export interface EnclaveAppOptions {
  /** The NSM to attest with. Default: the device, /dev/nsm. The dev kit passes its simulator here. */
  readonly nsm?: Nsm;
  readonly log?: Logger;
}

/**
 * Boots the enclave app: opens every configured sealed secret into the secrets directory (0600
 * files, written atomically) and serves the KMS-compatible gateway on loopback.
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
  const client = await createClient(config, nsm);
  await client.keys.warm(1);
  let gateway: Gateway | undefined;
  const opened: string[] = [];
  try {
    if (config.secrets) {
      await prepareSecretsDirectory(config.secrets.dir);
      for (const item of config.secrets.items) {
        const envelope = await readFile(item.envelope);
        const plaintext = await openSecret(client, envelope, {
          keyId: item.keyId,
          name: item.name,
          ...(item.encryptionContext ? { expectedContext: item.encryptionContext } : {}),
        });
        try {
          await writeSecretFile(config.secrets.dir, item.name, plaintext);
        } finally {
          plaintext.fill(0);
        }
        opened.push(item.name);
        log('info', 'secret opened', { name: item.name });
      }
    }
    if (config.gateway) {
      gateway = await startGateway(config.gateway.listen, client, {
        log,
        ...(config.gateway.allowedUids ? { allowedUids: config.gateway.allowedUids } : {}),
        ...(config.gateway.maxConcurrentRequests ? { maxConcurrentRequests: config.gateway.maxConcurrentRequests } : {}),
      });
    }
  } catch (e) {
    // Nothing half-booted stays behind: the gateway closed, the secrets opened so far removed.
    await gateway?.close();
    if (config.secrets) await removeSecretFiles(config.secrets.dir, opened);
    client.close();
    throw e;
  }
  return {
    client,
    nsm,
    ...(gateway ? { gateway: gateway.address } : {}),
    secrets: opened,
    moduleId: description.moduleId,
    // The opened secrets live as long as the app: removed when it stops, so no file outlives it.
    close: async () => {
      await gateway?.close();
      if (config.secrets) await removeSecretFiles(config.secrets.dir, opened);
      client.close();
    },
  };
}
