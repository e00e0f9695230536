import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { AttestedKmsClient, parentCredentialsProvider, type AttestedKmsClientOptions } from '@nitro-datakey/enclave';
import { configFromValues, type CredentialProvider, startProxy, type RunningProxy } from '@nitro-datakey/parent-proxy';
import type { Nsm } from '@nitro-datakey/shared';
import { type LocalKms, type LocalKmsOptions, startLocalKms } from './kms/server.js';
import { localKmsClient } from './kms/sdk-client.js';
import { NitroPki } from './nsm/pki.js';
import { SimulatedNsm, type SimulatedNsmOptions } from './nsm/simulated-nsm.js';

export interface Stack {
  readonly pki: NitroPki;
  readonly kms: LocalKms;
  readonly proxy: RunningProxy;
  readonly nsm: Nsm & { simulator: SimulatedNsm };
  /** The full ARN of the stack's key (what an enclave is configured with). */
  readonly keyId: string;
  readonly client: AttestedKmsClient;
  /** Another attested client on the same path (another enclave, or other options). */
  clientFor(nsm: Nsm, options?: Partial<AttestedKmsClientOptions>): AttestedKmsClient;
  close(): Promise<void>;
}

/**
 * The whole attested path on one machine: a simulated Nitro PKI, the local KMS over TLS trusting it,
 * the real parent proxy (TCP or Unix in place of vsock) with its credentials route, a simulated NSM,
 * and an AttestedKmsClient whose TLS to KMS ends in "the enclave".
 */
export async function startStack(
  options: {
    transport?: 'tcp' | 'unix';
    keyPolicy?: string;
    nsm?: Partial<SimulatedNsmOptions>;
    client?: Partial<AttestedKmsClientOptions>;
    /** More local KMS options (principals, account, ...). */
    kms?: Partial<LocalKmsOptions>;
    /** What the parent's credentials route hands out. Default: access key id ASIASTACKTEST, valid an hour. */
    parentCredentials?: CredentialProvider;
    /** Serve the envelopes of this directory on the proxy's secrets route (Stack.proxy.secrets). */
    secretsDir?: string;
    /** Take the enclave's telemetry (Stack.proxy.telemetry), written to this file, with /metrics, /healthz and /attestation on Stack.proxy.metrics. */
    telemetryOutput?: string;
  } = {},
): Promise<Stack> {
  const pki = await NitroPki.create();
  const kms = await startLocalKms({ tls: true, trustedRootFingerprints: [pki.rootFingerprint], ...options.kms });
  const kmsPort = new URL(kms.endpoint).port;
  const admin = localKmsClient(kms);
  const keyId = (await admin.send(new CreateKeyCommand(options.keyPolicy ? { Policy: options.keyPolicy } : {}))).KeyMetadata?.Arn as string;
  admin.destroy();
  const dir = mkdtempSync(join(tmpdir(), 'ndk-stack-'));
  const listen = (name: string) => (options.transport === 'unix' ? `unix:${join(dir, `${name}.sock`)}` : 'tcp:127.0.0.1:0');
  const proxy = await startProxy(
    configFromValues({
      routes: [{ listen: listen('kms'), upstream: `127.0.0.1:${kmsPort}` }],
      allow: [`127.0.0.1:${kmsPort}`],
      credentials: { listen: listen('credentials') },
      ...(options.secretsDir ? { secrets: { listen: listen('secrets'), dir: options.secretsDir } } : {}),
      ...(options.telemetryOutput
        ? { telemetry: { listen: listen('telemetry'), output: options.telemetryOutput, heartbeatTimeoutMs: 2000 }, metrics: { listen: 'tcp:127.0.0.1:0' } }
        : {}),
      limits: { shutdownGraceMs: 200 },
    }),
    {
      // The parent's credential chain: access key id ASIASTACKTEST (map it to a role with kms.principals).
      credentialProvider:
        options.parentCredentials ??
        (async () => ({
          accessKeyId: 'ASIASTACKTEST',
          secretAccessKey: 'stack-secret',
          sessionToken: 'stack-token',
          expiration: new Date(Date.now() + 3_600_000),
        })),
    },
  );
  const nsm = await SimulatedNsm.client({ pki, ...options.nsm });
  const clients: AttestedKmsClient[] = [];
  const clientFor = (n: Nsm, extra: Partial<AttestedKmsClientOptions> = {}) => {
    const c = new AttestedKmsClient({
      nsm: n,
      region: kms.region,
      transport: proxy.routes[0]?.listen as string,
      endpoint: `https://localhost:${kmsPort}`,
      ca: kms.caCertPem as string,
      credentials: parentCredentialsProvider({ address: proxy.credentials as string }),
      keys: { poolSize: 2 },
      ...options.client,
      ...extra,
    });
    clients.push(c);
    return c;
  };
  const client = clientFor(nsm);
  return {
    pki,
    kms,
    proxy,
    nsm,
    keyId,
    client,
    clientFor,
    close: async () => {
      for (const c of clients) c.close();
      await proxy.close();
      await kms.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
