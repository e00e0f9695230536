// An example workload for `nitro-enclave run`: it reads a secret the enclave opened at boot and asks
// the KMS gateway for a data key. Replace it with your application (see eif/README.md).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';

const secret = await readFile(join(process.env.NITRO_DATAKEY_SECRETS_DIR, 'db-password'));

// AWS_ENDPOINT_URL_KMS (set by nitro-enclave run) points the SDK at the gateway. The gateway makes
// every call to KMS attested with the parent's credentials, so these are placeholders, never sent on.
const kms = new KMSClient({ credentials: { accessKeyId: 'enclave-workload', secretAccessKey: 'unused' }, maxAttempts: 1 });
// alias/app is a name in the enclave config's kms.allowedKeys: the enclave checks KMS answers for its ARN.
const dataKey = await kms.send(new GenerateDataKeyCommand({ KeyId: process.env.APP_KEY_ID ?? 'alias/app', KeySpec: 'AES_256' }));
kms.destroy();

console.log(JSON.stringify({ secretBytes: secret.byteLength, dataKeyBytes: dataKey.Plaintext.byteLength, keyId: dataKey.KeyId }));
