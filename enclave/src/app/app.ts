import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Nsm } from '@nitro-datakey/shared';
import { parentCredentialsProvider } from '../credentials.js';
import { AttestedKmsClient } from '../kms/attested-client.js';
import { openNsmDevice } from '../nsm/device.js';
import { openSecret } from '../sealed-secret.js';
import type { EnclaveAppConfig } from './config.js';
import { EnclaveConfigError } from './config.js';
import { startGateway, type Gateway } from './gateway.js';

export interface EnclaveApp {
  readonly client: AttestedKmsClient;
  readonly nsm: Nsm;
  readonly gateway?: string;
  /** Names of the secrets written to the secrets directory. */
  readonly secrets: readonly string[];
  readonly moduleId: string;
  close(): Promise<void>;
}

export type Log = (entry: Record<string, unknown>) => void;

/** The part of @nitro-datakey/testkit the simulator option uses (declared here: no build-time dependency). */
interface SimulatorModule {
  SimulatedNsm: { client(options: { pki: unknown; measurements?: unknown; debug?: boolean }): Promise<Nsm> };
  NitroPki: { load(dir: string): Promise<unknown> };
  readMeasurements(path: string): Promise<unknown>;
}

/** Opens the NSM the config names: the device, or (for development) a simulator from the testkit. */
export async function openConfiguredNsm(config: EnclaveAppConfig): Promise<Nsm> {
  if (config.nsm === 'device') return openNsmDevice();
  const sim = config.nsm.simulator;
  let testkit: SimulatorModule;
  try {
    // A variable specifier: the enclave package must build (and ship) without the testkit.
    const specifier = '@nitro-datakey/testkit';
    testkit = (await import(specifier)) as SimulatorModule;
  } catch (cause) {
    throw new EnclaveConfigError(`nsm.simulator needs @nitro-datakey/testkit, which is not installed here (an enclave image uses "nsm": "device"): ${(cause as Error).message}`);
  }
  return testkit.SimulatedNsm.client({
    pki: await testkit.NitroPki.load(sim.pkiDir),
    ...(sim.measurements ? { measurements: await testkit.readMeasurements(sim.measurements) } : {}),
    ...(sim.debug ? { debug: true } : {}),
  });
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
    credentials: parentCredentialsProvider({ address: config.credentials.transport }),
    ...(config.keys ? { keys: config.keys } : {}),
    ...(config.dataKeyCache ? { dataKeyCache: config.dataKeyCache } : {}),
  });
}

/**
 * Boots the enclave app: opens every configured sealed secret into the secrets directory (0600
 * files, written atomically) and serves the KMS-compatible gateway on loopback.
 */
export async function startEnclaveApp(config: EnclaveAppConfig, options: { nsm?: Nsm; log?: Log } = {}): Promise<EnclaveApp> {
  const log = options.log ?? (() => undefined);
  const nsm = options.nsm ?? (await openConfiguredNsm(config));
  const description = await nsm.describe();
  const client = await createClient(config, nsm);
  await client.keys.warm(1);
  let gateway: Gateway | undefined;
  const opened: string[] = [];
  try {
    if (config.secrets) {
      await mkdir(config.secrets.dir, { recursive: true, mode: 0o700 });
      for (const item of config.secrets.items) {
        const envelope = await readFile(item.envelope);
        const plaintext = await openSecret(client, envelope, item.encryptionContext ? { expectedContext: item.encryptionContext } : {});
        const target = join(config.secrets.dir, item.name);
        const tmp = `${target}.${process.pid}.tmp`;
        try {
          await writeFile(tmp, plaintext, { mode: 0o600 });
          await chmod(tmp, 0o600);
          await rename(tmp, target);
        } finally {
          plaintext.fill(0);
        }
        opened.push(item.name);
        log({ level: 'info', msg: 'secret opened', name: item.name });
      }
    }
    if (config.gateway) gateway = await startGateway(config.gateway.listen, client, log);
  } catch (e) {
    client.close();
    throw e;
  }
  return {
    client,
    nsm,
    ...(gateway ? { gateway: gateway.address } : {}),
    secrets: opened,
    moduleId: description.moduleId,
    close: async () => {
      await gateway?.close();
      client.close();
    },
  };
}
