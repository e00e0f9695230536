// An example workload for `nitro-enclave run`: it reads a secret the enclave opened at boot and asks
// the KMS gateway for a data key. Replace it with your application (see eif/README.md).
import { readFile } from 'node:fs/promises';
import { Agent } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';

const secret = await readFile(join(process.env.NITRO_DATAKEY_SECRETS_DIR, 'db-password'));

// NITRO_DATAKEY_GATEWAY (set by nitro-enclave run) is where the gateway listens. On a Unix socket (the
// example's config: only this uid may call) the SDK's connections go to that socket; on loopback TCP,
// AWS_ENDPOINT_URL_KMS already points an unmodified SDK at it. The gateway makes every call to KMS
// attested with the parent's credentials, so these credentials are placeholders, never sent on.
const gateway = process.env.NITRO_DATAKEY_GATEWAY ?? '';
const socketPath = gateway.startsWith('unix:') ? gateway.slice('unix:'.length) : undefined;
const overSocket = socketPath
  ? {
      endpoint: 'http://localhost',
      requestHandler: new NodeHttpHandler({ httpAgent: Object.assign(new Agent({ keepAlive: true }), { createConnection: () => connect(socketPath) }) }),
    }
  : {};
const kms = new KMSClient({ credentials: { accessKeyId: 'enclave-workload', secretAccessKey: 'unused' }, maxAttempts: 1, ...overSocket });
// alias/app is a name in the enclave config's kms.allowedKeys: the enclave checks KMS answers for its ARN.
const dataKey = await kms.send(new GenerateDataKeyCommand({ KeyId: process.env.APP_KEY_ID ?? 'alias/app', KeySpec: 'AES_256' }));
kms.destroy();

console.log(JSON.stringify({ secretBytes: secret.byteLength, dataKeyBytes: dataKey.Plaintext.byteLength, keyId: dataKey.KeyId }));
