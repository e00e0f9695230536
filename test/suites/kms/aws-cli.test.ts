import { createPublicKey } from 'node:crypto';
import { execFile, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptCiphertextForRecipient } from '@nitro-datakey/shared';
import { NitroPki, SimulatedNsm, startLocalKms, type LocalKms } from '@nitro-datakey/devkit';

const run = promisify(execFile);
const hasAws = spawnSync('aws', ['--version']).status === 0;
const title = hasAws ? 'the aws CLI against nitro-kms-local' : 'the aws CLI against nitro-kms-local (SKIPPED: the aws CLI is not installed)';

const hasBotocore = hasAws && spawnSync('python3', ['-c', 'import botocore']).status === 0;
const botocoreSkip = hasBotocore ? '' : ' (skipped: python3 cannot import botocore)';
/** One attested GenerateDataKey through botocore; prints what came back, never the data key. */
const BOTOCORE_ATTESTED = `
import base64, json, os, botocore.session
from botocore.exceptions import ClientError
kms = botocore.session.get_session().create_client('kms', region_name=os.environ['REGION'], endpoint_url=os.environ['ENDPOINT'],
    verify=os.environ['CA'], aws_access_key_id='AKIDBOTO', aws_secret_access_key='not-checked')
document = open(os.environ['DOCUMENT'], 'rb').read()
try:
    r = kms.generate_data_key(KeyId=os.environ['KEY_ID'], KeySpec='AES_256',
        Recipient={'KeyEncryptionAlgorithm': 'RSAES_OAEP_SHA_256', 'AttestationDocument': document})
    print(json.dumps({'plaintext': 'Plaintext' in r, 'cfr': base64.b64encode(r['CiphertextForRecipient']).decode()}))
except ClientError as e:
    print(json.dumps({'error': e.response['Error']['Code'], 'message': e.response['Error']['Message']}))
`;
import { enclaveRecipient } from '../../support/index.js';
import { scratchDir } from '../../support/scratch.js';

let kms: LocalKms;
let dir: string;

async function aws(args: string[], on: LocalKms = kms): Promise<{ code: number; out: string; err: string }> {
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: 'AKIDCLI',
    AWS_SECRET_ACCESS_KEY: 'not-checked',
    AWS_DEFAULT_REGION: on.region,
    AWS_CA_BUNDLE: on.caCertPath ?? '',
    AWS_PAGER: '',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
  try {
    const r = await run('aws', ['kms', ...args, '--endpoint-url', on.endpoint, '--output', 'json'], { env });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout, err: err.stderr };
  }
}

describe.skipIf(!hasAws)(title, () => {
  let pki: NitroPki;
  beforeAll(async () => {
    pki = await NitroPki.create();
    kms = await startLocalKms({ tls: true, trustedRootFingerprints: [pki.rootFingerprint] });
    dir = scratchDir('ndk-awscli-');
  });
  afterAll(async () => kms?.close());

  it('create-key, create-alias, describe-key, generate-data-key, encrypt and decrypt over TLS', async () => {
    const created = await aws(['create-key', '--description', 'from the aws cli']);
    expect(created.code).toBe(0);
    const keyId = JSON.parse(created.out).KeyMetadata.KeyId as string;
    expect((await aws(['create-alias', '--alias-name', 'alias/cli', '--target-key-id', keyId])).code).toBe(0);
    const described = JSON.parse((await aws(['describe-key', '--key-id', 'alias/cli'])).out);
    expect(described.KeyMetadata).toMatchObject({ KeyId: keyId, Description: 'from the aws cli', KeyState: 'Enabled' });

    const dataKey = JSON.parse((await aws(['generate-data-key', '--key-id', 'alias/cli', '--key-spec', 'AES_256'])).out);
    expect(Buffer.from(dataKey.Plaintext, 'base64')).toHaveLength(32);

    const plainFile = join(dir, 'plain.bin');
    writeFileSync(plainFile, 'secret from the cli');
    const encrypted = JSON.parse((await aws(['encrypt', '--key-id', keyId, '--plaintext', `fileb://${plainFile}`, '--encryption-context', 'app=cli'])).out);
    const blobFile = join(dir, 'blob.bin');
    writeFileSync(blobFile, Buffer.from(encrypted.CiphertextBlob, 'base64'));
    const decrypted = JSON.parse((await aws(['decrypt', '--ciphertext-blob', `fileb://${blobFile}`, '--encryption-context', 'app=cli'])).out);
    expect(Buffer.from(decrypted.Plaintext, 'base64').toString()).toBe('secret from the cli');
    expect(decrypted.KeyMaterialId).toMatch(/^[a-f0-9]{64}$/);
  });

  it('the newer model items through botocore: KeyMaterialId, Ed25519 data key pairs, DryRunModifiers, EncryptionAlgorithm', async () => {
    const keyId = JSON.parse((await aws(['create-key'])).out).KeyMetadata.KeyId as string;
    const dataKey = JSON.parse((await aws(['generate-data-key', '--key-id', keyId, '--key-spec', 'AES_256'])).out);
    expect(dataKey.KeyMaterialId).toMatch(/^[a-f0-9]{64}$/);
    const pair = JSON.parse((await aws(['generate-data-key-pair', '--key-id', keyId, '--key-pair-spec', 'ECC_NIST_EDWARDS25519'])).out);
    expect(pair.KeyPairSpec).toBe('ECC_NIST_EDWARDS25519');
    expect(createPublicKey({ key: Buffer.from(pair.PublicKey, 'base64'), format: 'der', type: 'spki' }).asymmetricKeyType).toBe('ed25519');
    const blobFile = join(dir, 'dk.bin');
    writeFileSync(blobFile, Buffer.from(dataKey.CiphertextBlob, 'base64'));
    const dry = await aws(['decrypt', '--ciphertext-blob', `fileb://${blobFile}`, '--key-id', keyId, '--dry-run', '--dry-run-modifiers', 'IGNORE_CIPHERTEXT']);
    expect(dry.code).not.toBe(0);
    expect(dry.err).toContain('DryRunOperationException');
    const rsa = await aws(['decrypt', '--ciphertext-blob', `fileb://${blobFile}`, '--encryption-algorithm', 'RSAES_OAEP_SHA_256']);
    expect(rsa.code).not.toBe(0);
    expect(rsa.err).toContain('InvalidKeyUsageException');
    expect((await aws(['tag-resource', '--key-id', keyId, '--tags', 'TagKey=team,TagValue=blue'])).code).toBe(0);
    expect(JSON.parse((await aws(['list-resource-tags', '--key-id', keyId])).out).Tags).toEqual([{ TagKey: 'team', TagValue: 'blue' }]);
  });

  it('grant tokens: botocore and the local KMS agree on 1 to 8192 characters', async () => {
    const keyId = JSON.parse((await aws(['create-key'])).out).KeyMetadata.KeyId as string;
    const longest = await aws(['generate-data-key', '--key-id', keyId, '--key-spec', 'AES_256', '--grant-tokens', 'g'.repeat(8192)]);
    expect(longest.code, longest.err).toBe(0);
    // One character more: refused (botocore validates the model's length before sending, as the SDK's server would).
    const tooLong = await aws(['generate-data-key', '--key-id', keyId, '--key-spec', 'AES_256', '--grant-tokens', 'g'.repeat(8193)]);
    expect(tooLong.code).not.toBe(0);
    expect(tooLong.err).toMatch(/length|8192/i);
  });

  // The aws CLI v1 sends a blob nested in a structure (Recipient.AttestationDocument) as the text it was
  // given, so a binary document cannot pass through it; botocore, the library under the CLI, can.
  it.skipIf(!hasBotocore)(
    `attested GenerateDataKey through botocore: CiphertextForRecipient only; --recipient-rsa-2048-only refuses RSA-3072${botocoreSkip}`,
    async () => {
      const strict = await startLocalKms({ tls: true, trustedRootFingerprints: [pki.rootFingerprint], recipientRsa2048Only: true });
      try {
        const nsm = await SimulatedNsm.client({ pki });
        const attested = async (on: LocalKms, modulusLength: number) => {
          const keyId = JSON.parse((await aws(['create-key'], on)).out).KeyMetadata.KeyId as string;
          const enclave = await enclaveRecipient(nsm, { modulusLength });
          const document = join(dir, `document-${modulusLength}.bin`);
          writeFileSync(document, enclave.recipient.AttestationDocument as Uint8Array);
          const r = await run('python3', ['-c', BOTOCORE_ATTESTED], {
            env: { ...process.env, ENDPOINT: on.endpoint, CA: on.caCertPath ?? '', KEY_ID: keyId, DOCUMENT: document, REGION: on.region },
          });
          return { enclave, answer: JSON.parse(r.stdout) as { error?: string; message?: string; plaintext?: boolean; cfr?: string } };
        };
        const ok = await attested(strict, 2048);
        expect(ok.answer.error, ok.answer.message).toBeUndefined();
        expect(ok.answer.plaintext).toBe(false);
        expect(decryptCiphertextForRecipient(new Uint8Array(Buffer.from(ok.answer.cfr as string, 'base64')), ok.enclave.privateKey)).toHaveLength(32);
        const big = await attested(strict, 3072);
        expect(big.answer).toMatchObject({ error: 'ValidationException', message: expect.stringContaining('RSA-2048') });
        // The same RSA-3072 recipient is fine where the option is off (AWS accepts 2048 to 4096 bits).
        expect((await attested(kms, 3072)).answer.error).toBeUndefined();
      } finally {
        await strict.close();
      }
    },
  );

  it('reports KMS errors by name with a failing exit status', async () => {
    const missing = await aws(['describe-key', '--key-id', 'alias/missing']);
    expect(missing.code).not.toBe(0);
    expect(missing.err).toContain('NotFoundException');
    const tooBig = await aws(['generate-random', '--number-of-bytes', '1025']);
    expect(tooBig.code).not.toBe(0);
    expect(tooBig.err).toContain('ValidationException');
  });
});
