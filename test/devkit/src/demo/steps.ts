import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeKeyCommand } from '@aws-sdk/client-kms';
import { enclaveKeyPolicy, toHex } from '@nitro-datakey/shared';
import { parsePolicyDocument, summarizePolicy } from '@nitro-datakey/shared/policy';
import { localKmsClient } from '../kms/sdk-client.js';
import { NitroPki } from '../nsm/pki.js';
import { type PcrValues, syntheticMeasurements } from '../nsm/measurements.js';
import { builtScript, spawnReady } from '../process.js';
import type { DemoHarness } from './harness.js';

/** The account and enclave role both demos use; the parent's credentials name this role. */
const DEMO_ACCOUNT = '111122223333';
const DEMO_ROLE = `arn:aws:iam::${DEMO_ACCOUNT}:role/demo-enclave`;
export const DEMO_ACCESS_KEY_ID = 'AKIDDEMOENCLAVE';

/** A fresh simulated Nitro PKI in DIR/pki, and the image's measurements in DIR/measurements.json. */
export async function pkiStep(demo: DemoHarness, image: string): Promise<{ pki: NitroPki; measurements: PcrValues }> {
  const measurements = syntheticMeasurements(image);
  const pki = await demo.step(
    'simulated Nitro PKI (P-384 root, regional/zonal/instance CAs)',
    async () => {
      const p = await NitroPki.create();
      await p.save(join(demo.dir, 'pki'));
      writeFileSync(
        join(demo.dir, 'measurements.json'),
        JSON.stringify({ Measurements: Object.fromEntries([...measurements].map(([i, v]) => [`PCR${i}`, toHex(v)])) }),
      );
      return p;
    },
    (p) => `root ${p.rootFingerprint.slice(0, 16)}...`,
  );
  return { pki, measurements };
}

export interface DemoKms {
  readonly port: string;
  readonly caCertPath: string;
  /** The CA certificate itself, read once here for every client that needs it. */
  readonly caCertPem: string;
  /** The key's ARN, looked up once by the operator: the enclave pins it. */
  readonly keyArn: string;
  readonly auditPath: string;
  /** The fault admin URL (loopback, .../faults): a PUT makes the local KMS misbehave on purpose. */
  readonly adminEndpoint: string;
  /** Its bearer token, from the ready line. */
  readonly adminToken: string;
  /** The key policy as `nitro-datakey policy --summary` prints it (the same function). */
  readonly policySummary: string;
}

/** Sets the local KMS's injected faults through its admin endpoint ({} clears them). */
export async function setFaults(kms: DemoKms, faults: Record<string, unknown>): Promise<void> {
  const res = await fetch(kms.adminEndpoint, { method: 'PUT', body: JSON.stringify(faults), headers: { authorization: `Bearer ${kms.adminToken}` } });
  if (!res.ok) throw new Error(`the fault admin endpoint answered ${res.status}: ${await res.text()}`);
}

/**
 * The local KMS (TLS, trusting the simulated root) with one key under the policy the operators'
 * generator prints, releasing to `measurements` (PCR0-2), and its audit trail in DIR/audit.jsonl.
 */
export async function localKmsStep(demo: DemoHarness, pki: NitroPki, measurements: PcrValues, alias: string): Promise<DemoKms> {
  const policy = enclaveKeyPolicy({
    account: DEMO_ACCOUNT,
    roleArn: DEMO_ROLE,
    pcrs: new Map([...measurements].filter(([i]) => i <= 2).map(([i, v]) => [i, toHex(v)])),
  });
  writeFileSync(join(demo.dir, 'seed.json'), JSON.stringify({ keys: [{ alias, description: 'releases data keys to the demo enclave image only', policy }] }));
  const auditPath = join(demo.dir, 'audit.jsonl');
  const kms = await demo.step(
    `local KMS with TLS, ${alias} under the generated policy (PCR0-2)`,
    () =>
      spawnReady<{ endpoint: string; caCertPath: string; adminEndpoint: string; adminToken: string }>(
        builtScript('@nitro-datakey/devkit', 'cli/nitro-kms-local-main.js'),
        [
          '--tls',
          '--quiet',
          '--audit',
          auditPath,
          '--data-dir',
          join(demo.dir, 'kms'),
          '--trust-root-fingerprint',
          pki.rootFingerprint,
          '--seed',
          join(demo.dir, 'seed.json'),
          '--principal',
          `${DEMO_ACCESS_KEY_ID}=${DEMO_ROLE}`,
          '--admin-port',
          '0',
        ],
      ),
    (k) => k.ready.endpoint,
  );
  demo.track(kms.child);
  // The enclave pins its key by ARN: the parent serves the credentials, so it chooses the account,
  // and an alias alone could name a key of the parent's own. The operator looks the ARN up once.
  const caCertPem = readFileSync(kms.ready.caCertPath, 'utf8');
  const operator = localKmsClient({ endpoint: kms.ready.endpoint, region: 'us-east-1', caCertPem });
  try {
    const keyArn = (await operator.send(new DescribeKeyCommand({ KeyId: alias }))).KeyMetadata?.Arn;
    if (keyArn === undefined) throw new Error(`${alias} has no ARN`);
    return {
      port: new URL(kms.ready.endpoint).port,
      caCertPath: kms.ready.caCertPath,
      caCertPem,
      keyArn,
      auditPath,
      adminEndpoint: kms.ready.adminEndpoint,
      adminToken: kms.ready.adminToken,
      policySummary: summarizePolicy(parsePolicyDocument(JSON.stringify(policy))),
    };
  } finally {
    operator.destroy();
  }
}
