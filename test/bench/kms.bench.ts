import { CreateKeyCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enclaveRecipient, localKmsClient, NitroPki, SimulatedNsm, spawnLocalKms } from '@nitro-datakey/devkit';
import { closedLoop as throughput } from './harness.js';

/** GenerateDataKey through the AWS SDK against nitro-kms-local running as its own process (TLS), plain and attested. */
export async function kmsBenchmarks(): Promise<void> {
  const pki = await NitroPki.create();
  const dir = mkdtempSync(join(tmpdir(), 'ndk-bench-kms-'));
  const server = await spawnLocalKms(['--tls', '--quiet', '--data-dir', dir, '--trust-root-fingerprint', pki.rootFingerprint]);
  const { readFile } = await import('node:fs/promises');
  const caCertPem = await readFile(server.ready.caCertPath as string, 'utf8');
  const clients: KMSClient[] = [];
  const clientFor = () => {
    const c = localKmsClient({ ...server.ready, caCertPem });
    clients.push(c);
    return c;
  };
  try {
    const client = clientFor();
    const keyId = (await client.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    const nsm = await SimulatedNsm.client({ pki });
    // One attested key pair and document for every call: this measures the server, not the enclave side.
    const { recipient } = await enclaveRecipient(nsm);
    const plain = () => client.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
    const attested = () => client.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', Recipient: recipient }));
    await throughput(4, 1, plain);
    await throughput(4, 1, attested);
    console.log('\n## Local KMS: GenerateDataKey through @aws-sdk/client-kms (server in its own process, TLS, keep-alive)\n');
    console.log('| request | concurrency | requests/s | p50 ms | p99 ms |');
    console.log('|---|---:|---:|---:|---:|');
    for (const [name, call] of [
      ['plain', plain],
      ['attested (Recipient)', attested],
    ] as const) {
      for (const concurrency of [1, 16]) {
        const r = await throughput(concurrency, 4, call);
        console.log(`| ${name} | ${concurrency} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`);
      }
    }
  } finally {
    for (const c of clients) c.destroy();
    server.child.kill('SIGTERM');
  }
}
