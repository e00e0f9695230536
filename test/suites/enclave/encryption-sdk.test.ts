import { buildClient, CommitmentPolicy, KmsKeyringNode } from '@aws-crypto/client-node';
import { KMS } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transportAgent } from '@nitro-datakey/enclave';
import { enclaveKeyPolicy, toHex } from '@nitro-datakey/shared';
import { startStack, syntheticMeasurements, type Stack } from '@nitro-datakey/devkit';

/*
 * The AWS Encryption SDK for JavaScript, unchanged, inside "the enclave": its KmsKeyringNode gets a
 * KMSClient that carries the attestation plugin (AttestedKmsClient's own SDK client), and talks to the
 * local KMS through the real parent proxy. The key's policy is the one `nitro-datakey policy` prints,
 * so any call that went out without a matching attestation document would be refused.
 */
const ACCOUNT = '111122223333';
const measurements = syntheticMeasurements('encryption-sdk enclave image');
let stack: Stack;

// The SDK's own KMS client type and the Encryption SDK's description of one differ in small typing
// details (its DecryptResponse predates the SDK's); at run time the SDK client is what it expects.
type ClientProvider = NonNullable<NonNullable<ConstructorParameters<typeof KmsKeyringNode>[0]>['clientProvider']>;
const provide = (client: unknown): ClientProvider => (() => client) as unknown as ClientProvider;

beforeAll(async () => {
  const pcrs = new Map([...measurements].filter(([i]) => i <= 2).map(([i, v]) => [i, toHex(v)]));
  const policy = JSON.stringify(enclaveKeyPolicy({ account: ACCOUNT, roleArn: `arn:aws:iam::${ACCOUNT}:role/enclave-host`, pcrs }));
  stack = await startStack({
    nsm: { measurements },
    keyPolicy: policy,
    kms: { account: ACCOUNT, principals: { ASIASTACKTEST: `arn:aws:sts::${ACCOUNT}:assumed-role/enclave-host/i-0esdk` } },
  });
});
afterAll(async () => stack?.close());

describe('the AWS Encryption SDK in the enclave, unchanged', () => {
  it('encrypts and decrypts a message through the attested plugin, the proxy and the local KMS', async () => {
    const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
    const client = stack.clientFor(stack.nsm);
    const keyring = new KmsKeyringNode({ generatorKeyId: stack.keyId, clientProvider: provide(client.sdk) });
    const message = new TextEncoder().encode('a message only the measured enclave can read');
    const context = { purpose: 'esdk-test' };
    const { result } = await encrypt(keyring, message, { encryptionContext: context });
    expect(Buffer.from(result).includes(Buffer.from(message))).toBe(false);
    const { plaintext, messageHeader } = await decrypt(keyring, result);
    expect(new TextDecoder().decode(plaintext)).toBe('a message only the measured enclave can read');
    expect(messageHeader.encryptionContext).toMatchObject(context);
  });

  it('the same keyring on a client without the plugin is refused by the key policy (no attestation, no key)', async () => {
    const { encrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
    const bare = new KMS({
      region: stack.kms.region,
      endpoint: `https://localhost:${new URL(stack.kms.endpoint).port}`,
      credentials: { accessKeyId: 'ASIASTACKTEST', secretAccessKey: 'x' },
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({
        httpsAgent: transportAgent({ transport: stack.proxy.routes[0]?.listen as string, serverName: 'localhost', ca: stack.kms.caCertPem as string }),
      }),
    });
    const keyring = new KmsKeyringNode({ generatorKeyId: stack.keyId, clientProvider: provide(bare) });
    await expect(encrypt(keyring, new Uint8Array([1, 2, 3]))).rejects.toThrow(/AccessDenied|not authorized/);
    bare.destroy();
  });
});
