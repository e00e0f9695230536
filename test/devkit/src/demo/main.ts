import { copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildClient, CommitmentPolicy, KmsKeyringNode } from '@aws-crypto/client-node';
import { GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { AttestedKmsClient, AttestedKmsError, parentCredentialsProvider } from '@nitro-datakey/enclave';
import { AttestationVerifier, type Nsm, toHex } from '@nitro-datakey/shared';
import type { AuditEvent } from '../kms/audit.js';
import { syntheticMeasurements } from '../nsm/measurements.js';
import { SimulatedNsm } from '../nsm/simulated-nsm.js';
import { builtScript, spawnReady } from '../process.js';
import { type DemoHarness, runDemo } from './harness.js';
import { DEMO_ACCESS_KEY_ID, localKmsStep, pkiStep, setFaults } from './steps.js';

/*
 * `make demo`: the attested data-key path end to end on one machine, every part a real process:
 * the local KMS (TLS, trusting a fresh simulated Nitro PKI), the parent proxy on loopback TCP in place
 * of vsock, and the enclave app on the simulated NSM. Prints a short report and cleans up.
 */
async function main(demo: DemoHarness): Promise<void> {
  const { dir, step, run } = demo;
  console.log(`nitro-datakey demo (work directory ${dir})\n`);
  const { pki, measurements: enclaveMeasurements } = await pkiStep(demo, 'nitro-datakey demo enclave image');
  const kms = await localKmsStep(demo, pki, enclaveMeasurements, 'alias/demo');

  process.env['AWS_ACCESS_KEY_ID'] = DEMO_ACCESS_KEY_ID; // what the parent's default credential chain finds
  process.env['AWS_SECRET_ACCESS_KEY'] = 'demo-secret-not-checked';
  const served = join(dir, 'served-secrets');
  const telemetryLog = join(dir, 'enclave-telemetry.log');
  mkdirSync(served);
  const proxy = await step(
    'parent proxy on loopback TCP (in place of vsock): KMS, credentials, secrets and telemetry routes',
    () =>
      spawnReady<{ routes: { listen: string }[]; credentials: string; secrets: string; telemetry: string; metrics: string }>(
        builtScript('@nitro-datakey/parent-proxy', 'main.js'),
        [
          ...['--route', `tcp:127.0.0.1:0=127.0.0.1:${kms.port}`, '--allow', `127.0.0.1:${kms.port}`, '--credentials', 'tcp:127.0.0.1:0'],
          ...['--secrets', 'tcp:127.0.0.1:0', '--secrets-dir', served],
          ...['--telemetry', 'tcp:127.0.0.1:0', '--telemetry-output', telemetryLog, '--metrics', 'tcp:127.0.0.1:0'],
        ],
      ),
    (p) => `${p.ready.routes[0]?.listen} -> 127.0.0.1:${kms.port}`,
  );
  demo.track(proxy.child);

  const allowedKeys = { 'alias/demo': kms.keyArn };
  const config = {
    region: 'us-east-1',
    kms: { transport: proxy.ready.routes[0]?.listen, endpoint: `https://localhost:${kms.port}`, caFile: kms.caCertPath, allowedKeys },
    credentials: { transport: proxy.ready.credentials },
    secrets: {
      dir: join(dir, 'run', 'secrets'),
      route: proxy.ready.secrets,
      refreshIntervalMs: 1000,
      items: [
        { name: 'api-token', envelope: join(dir, 'api-token.sealed.json'), keyId: 'alias/demo', encryptionContext: { app: 'demo' } },
        { name: 'db-password', keyId: 'alias/demo' },
      ],
    },
    gateway: { listen: 'tcp:127.0.0.1:0' },
    telemetry: { route: proxy.ready.telemetry, heartbeatMs: 200 },
  };
  writeFileSync(join(dir, 'enclave.json'), JSON.stringify({ ...config, secrets: undefined }));
  writeFileSync(join(dir, 'enclave-with-secrets.json'), JSON.stringify(config));
  // The production enclave command, on the simulated NSM: nitro-sim enclave ... -- <nitro-enclave args>.
  const simBin = builtScript('@nitro-datakey/devkit', 'cli/nitro-sim-main.js');
  const onSimulator = ['enclave', '--pki-dir', join(dir, 'pki'), '--pcrs', join(dir, 'measurements.json'), '--'];
  const secret = `demo secret ${Date.now()}`;
  writeFileSync(join(dir, 'api-token.txt'), secret);

  await step(
    'enclave: attested GenerateDataKey, seal a secret (AES-256-GCM)',
    () =>
      run(process.execPath, [
        simBin,
        ...onSimulator,
        'seal',
        '--config',
        join(dir, 'enclave.json'),
        '--key-id',
        'alias/demo',
        '--name',
        'api-token',
        '--context',
        'app=demo',
        '--out',
        join(dir, 'api-token.sealed.json'),
        join(dir, 'api-token.txt'),
      ]),
    () => 'api-token.sealed.json',
  );
  rmSync(join(dir, 'api-token.txt'));
  // The parent's secrets directory: db-password, version 1, sealed by the enclave (an operator would use nitro-datakey seal).
  const sealVersion = async (version: number, out: string) => {
    writeFileSync(join(dir, 'db-password.txt'), `db password v${version}`);
    const args = ['seal', '--config', join(dir, 'enclave.json'), '--key-id', 'alias/demo', '--name', 'db-password', '--version', String(version)];
    await run(process.execPath, [simBin, ...onSimulator, ...args, '--out', out, join(dir, 'db-password.txt')]);
    rmSync(join(dir, 'db-password.txt'));
  };
  await step('the parent serves db-password version 1 (sealed with --version 1)', () => sealVersion(1, join(dir, 'db-password.v1.json')));
  copyFileSync(join(dir, 'db-password.v1.json'), join(served, 'db-password.json'));

  const enclave = await step(
    'enclave restarts: opens the sealed secret, serves the gateway',
    () => spawnReady<{ moduleId: string; gateway: string; secrets: string[] }>(simBin, [...onSimulator, '--config', join(dir, 'enclave-with-secrets.json')]),
    (e) => `secrets ${e.ready.secrets.join(', ')}`,
  );
  demo.track(enclave.child);
  await step('the secrets the workload reads equal the ones sealed (from the image and from the parent)', async () => {
    const opened = readFileSync(join(dir, 'run', 'secrets', 'api-token'), 'utf8');
    if (opened !== secret) throw new Error('the opened secret differs');
    if (readFileSync(join(dir, 'run', 'secrets', 'db-password'), 'utf8') !== 'db password v1') throw new Error('db-password is not version 1');
  });
  await step(
    'rotation: version 2 sealed into the parent directory, the running enclave takes it (no restart)',
    async () => {
      await sealVersion(2, join(served, 'db-password.json'));
      await waitFor(() => readFileSync(join(dir, 'run', 'secrets', 'db-password'), 'utf8') === 'db password v2', 'the enclave to take version 2');
    },
    () => 'the workload reads "db password v2"',
  );
  await step(
    'refused: the parent serves version 1 again (ERR_SECRET_ROLLBACK); the file keeps version 2',
    async () => {
      copyFileSync(join(dir, 'db-password.v1.json'), join(served, '.db-password.tmp'));
      renameSync(join(served, '.db-password.tmp'), join(served, 'db-password.json'));
      await waitFor(() => readFileSync(telemetryLog, 'utf8').includes('ERR_SECRET_ROLLBACK'), 'the refusal in the enclave log');
      if (readFileSync(join(dir, 'run', 'secrets', 'db-password'), 'utf8') !== 'db password v2') throw new Error('the rollback was taken');
    },
    () => 'seen in the enclave log on the parent',
  );
  const [, gwHost, gwPort] = /^tcp:(.+):(\d+)$/.exec(enclave.ready.gateway) ?? [];
  const workload = new KMSClient({
    region: 'us-east-1',
    endpoint: `http://${gwHost}:${gwPort}`,
    credentials: { accessKeyId: 'unused', secretAccessKey: 'unused' },
    maxAttempts: 1,
  });
  await step(
    'a workload SDK call through the gateway: GenerateDataKey',
    async () => {
      const dk = await workload.send(new GenerateDataKeyCommand({ KeyId: 'alias/demo', KeySpec: 'AES_256' }));
      if (dk.Plaintext?.length !== 32) throw new Error('no data key');
      return dk;
    },
    (dk) => `32-byte key for ${String(dk.KeyId).split(':').slice(-1)[0]}`,
  );
  workload.destroy();

  // The attestation an attested call carries, verified the way KMS does.
  const nsm = await SimulatedNsm.client({ pki, measurements: enclaveMeasurements });
  const doc = new AttestationVerifier({ trustedRootFingerprints: [pki.rootFingerprint] }).verify(await nsm.attest({ nonce: new Uint8Array(16) }));

  // An attested client on the enclave's path (the proxy's route), on the given NSM.
  const clientFor = (n: Nsm) =>
    new AttestedKmsClient({
      nsm: n,
      region: 'us-east-1',
      transport: proxy.ready.routes[0]?.listen as string,
      endpoint: `https://localhost:${kms.port}`,
      ca: kms.caCertPem,
      credentials: parentCredentialsProvider({ address: proxy.ready.credentials }),
      keys: { poolSize: 1 },
      allowedKeys,
      maxAttempts: 1,
    });

  await step(
    'the AWS Encryption SDK, unchanged, on the attested client: round trip',
    async () => {
      const c = clientFor(nsm);
      try {
        const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
        // The SDK's KMS client, carrying the attestation plugin, as the keyring's client (types differ in detail only).
        const clientProvider = (() => c.sdk) as unknown as NonNullable<NonNullable<ConstructorParameters<typeof KmsKeyringNode>[0]>['clientProvider']>;
        const keyring = new KmsKeyringNode({ generatorKeyId: kms.keyArn, clientProvider });
        const message = `an Encryption SDK message ${Date.now()}`;
        const { result } = await encrypt(keyring, message, { encryptionContext: { app: 'demo' } });
        const { plaintext } = await decrypt(keyring, result);
        if (Buffer.from(plaintext).toString() !== message) throw new Error('the message did not round-trip');
        return result.byteLength;
      } finally {
        c.close();
      }
    },
    (bytes) => `${bytes}-byte message`,
  );

  await step('refused: an enclave with another PCR0 (AccessDeniedException)', async () => {
    const other = await SimulatedNsm.client({ pki, measurements: syntheticMeasurements('some other image') });
    const c = clientFor(other);
    try {
      await c.generateDataKey({ KeyId: 'alias/demo', KeySpec: 'AES_256' });
      throw new Error('KMS gave a data key to the wrong enclave');
    } catch (e) {
      if (!(e instanceof AttestedKmsError) || e.kmsErrorName !== 'AccessDeniedException') throw e;
    } finally {
      c.close();
    }
  });

  // A compromised or impostor KMS, played by the local KMS itself through its fault admin endpoint:
  // the answer carries Plaintext beside CiphertextForRecipient. The audit trail marks the answer.
  await step('refused: a KMS that answers with Plaintext (the client discards it)', async () => {
    await setFaults(kms, { attested: 'plaintext' });
    const c = clientFor(nsm);
    try {
      await c.generateDataKey({ KeyId: 'alias/demo', KeySpec: 'AES_256' });
      throw new Error('the client accepted a response with Plaintext');
    } catch (e) {
      if (!(e instanceof AttestedKmsError) || e.code !== 'ERR_KMS_PLAINTEXT_IN_RESPONSE') throw e;
    } finally {
      c.close();
      await setFaults(kms, {});
    }
  });

  // The two refusals as the local KMS recorded them (CloudTrail-shaped events), found with its own query command.
  const kmsBin = builtScript('@nitro-datakey/devkit', 'cli/nitro-kms-local-main.js');
  const audit = async (filter: string): Promise<AuditEvent[]> => {
    const { stdout } = await run(process.execPath, [kmsBin, 'audit', '--file', kms.auditPath, '--key', kms.keyArn, filter]);
    return stdout
      .trim()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as AuditEvent);
  };
  await step(
    'both refusals are in the local KMS audit trail (nitro-kms-local audit)',
    async () => {
      const denied = await audit('--denied');
      const injected = (await audit('--injected')).filter((e) => e.additionalEventData?.['injectedFault'] === 'plaintext');
      if (denied.length === 0) throw new Error('no AccessDeniedException in the audit trail');
      if (injected.length === 0) throw new Error('no injected Plaintext answer in the audit trail');
      return { denied, injected };
    },
    (r) => `${r.denied.length} denied, ${r.injected.length} answered with Plaintext`,
  );

  console.log(`\n${demo.report()}`);
  console.log('\nThe key policy the local KMS holds, as `nitro-datakey policy --summary` prints it:');
  console.log(indent(kms.policySummary));
  const table = async (filter: string) =>
    (await run(process.execPath, [kmsBin, 'audit', '--file', kms.auditPath, '--key', kms.keyArn, filter, '--format', 'table'])).stdout;
  console.log('\nThe two refusals in the local KMS audit trail:');
  console.log(`  nitro-kms-local audit --denied --format table     (KMS refused: the document's PCR0 is not the policy's)`);
  console.log(indent(await table('--denied')));
  console.log(`  nitro-kms-local audit --injected --format table   (KMS sent Plaintext; the enclave refused it: ERR_KMS_PLAINTEXT_IN_RESPONSE)`);
  console.log(indent(await table('--injected')));
  printTelemetry(telemetryLog, await (await fetch(`http://${proxy.ready.metrics.slice('tcp:'.length)}/metrics`)).text());
  console.log(`
Attestation (simulated NSM; the production verifier, trusting the simulated root):
  module id   ${doc.moduleId}
  PCR0        ${toHex(doc.pcrs.get(0) as Uint8Array)}
  debug mode  ${doc.debug ? 'yes' : 'no'}
  leaf        ${doc.leaf.subject}, valid to ${doc.leaf.notAfter.toISOString()}
  root        ${doc.rootFingerprint}

The data key and the secret never crossed the proxy in the clear: KMS answered with
CiphertextForRecipient, opened inside the enclave with a one-time RSA key.`);
}

const indent = (text: string): string =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => (l === '' ? '' : `    ${l}`))
    .join('\n');

/** Polls `done` every 100 ms for up to 10 s. */
async function waitFor(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (done()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The enclave's log and metrics as the parent has them: its telemetry output file and its /metrics. */
function printTelemetry(logFile: string, metrics: string): void {
  console.log("\nThe enclave's log, as the parent proxy wrote it (--telemetry-output; no console in a production enclave):");
  const lines = readFileSync(logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const shown = lines.filter((l) => /secret|enclave ready/.test(String(l['message'])));
  for (const l of shown.slice(-6)) {
    const fields = l['fields'] as Record<string, unknown> | undefined;
    const detail = ['name', 'version', 'code'].filter((k) => fields?.[k] !== undefined).map((k) => `${k}=${String(fields?.[k])}`);
    console.log(`  ${String(l['time'])}  ${String(l['enclave']).slice(0, 24)}  ${String(l['level'])}  ${String(l['message'])}  ${detail.join(' ')}`);
  }
  console.log("\nThe enclave's metrics, on the parent proxy's /metrics (label enclave):");
  for (const line of metrics
    .split('\n')
    .filter((l) => /^nitro_enclave_(secrets|kms_calls|gateway)/.test(l))
    .slice(0, 8))
    console.log(`  ${line}`);
}

await runDemo('nitro-datakey-demo-', main);
