import { buildClient, CommitmentPolicy, KmsKeyringNode } from '@aws-crypto/client-node';
import { CreateAliasCommand, CreateKeyCommand, KMS } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transportAgent } from '@nitro-datakey/enclave';
import { enclaveKeyPolicy, toHex } from '@nitro-datakey/shared';
import { localKmsClient, startStack, syntheticMeasurements, type Stack } from '@nitro-datakey/devkit';
import { IAM_ALLOW_ALL_KMS } from '../../support/index.js';

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

describe('a parent that switches credentials mid-message to steer an extra keyring key', () => {
  /*
   * The attack of issue 20, end to end through the real proxy: the keyring has an extra key named by
   * alias (`alias/backup`). The parent serves the role's credentials for the attested GenerateDataKey,
   * then switches the credentials route to its own identity, under which alias/backup names a key it
   * owns. Had the Encrypt of the data key gone out, the parent would decrypt it with its own key and
   * read the message. The alias is not in allowedKeys, so the plugin refuses the Encrypt before it
   * leaves the enclave, and the local KMS's audit trail shows it never arrived.
   */
  const PARENT_USER = `arn:aws:iam::${ACCOUNT}:user/parent-operator`;
  let attack: Stack;
  let identity: 'role' | 'parent' = 'role';
  const events: { eventName: string; user: string }[] = [];

  beforeAll(async () => {
    const pcrs = new Map([...measurements].filter(([i]) => i <= 2).map(([i, v]) => [i, toHex(v)]));
    attack = await startStack({
      nsm: { measurements },
      keyPolicy: JSON.stringify(enclaveKeyPolicy({ account: ACCOUNT, roleArn: `arn:aws:iam::${ACCOUNT}:role/enclave-host`, pcrs })),
      kms: {
        account: ACCOUNT,
        principals: { ASIASTACKTEST: `arn:aws:sts::${ACCOUNT}:assumed-role/enclave-host/i-0esdk`, AKIDPARENT: PARENT_USER },
        // The parent operator's own IAM lets it make keys in "its" account.
        iamPolicies: { [PARENT_USER]: IAM_ALLOW_ALL_KMS },
        audit: (event) => {
          events.push({ eventName: event.eventName, user: event.userIdentity.arn });
          // The switch: once the attested GenerateDataKey has been answered, the parent serves its own keys.
          if (event.eventName === 'GenerateDataKey' && !event.errorCode) identity = 'parent';
        },
      },
      // Credentials that expire within the refresh margin: every call fetches them again, so the switch is live.
      parentCredentials: async () =>
        identity === 'role'
          ? { accessKeyId: 'ASIASTACKTEST', secretAccessKey: 'role-secret', sessionToken: 'role-token', expiration: new Date(Date.now() + 60_000) }
          : { accessKeyId: 'AKIDPARENT', secretAccessKey: 'parent-secret', expiration: new Date(Date.now() + 60_000) },
    });
    // The parent's own key, and alias/backup naming it in "its" account.
    const parentAdmin = localKmsClient(attack.kms, { accessKeyId: 'AKIDPARENT' });
    const owned = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: PARENT_USER }, Action: 'kms:*', Resource: '*' }],
    });
    const parentKey = (await parentAdmin.send(new CreateKeyCommand({ Policy: owned }))).KeyMetadata?.Arn as string;
    await parentAdmin.send(new CreateAliasCommand({ AliasName: 'alias/backup', TargetKeyId: parentKey }));
    parentAdmin.destroy();
  });
  afterAll(async () => attack?.close());

  it('the Encrypt for the extra key is refused with ERR_KMS_WRONG_KEY before it leaves the enclave', async () => {
    const { encrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
    const client = attack.clientFor(attack.nsm);
    const keyring = new KmsKeyringNode({ generatorKeyId: attack.keyId, keyIds: ['alias/backup'], clientProvider: provide(client.sdk) });
    events.length = 0;
    const error = await encrypt(keyring, new TextEncoder().encode('the secret message')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(codesIn(error)).toContain('ERR_KMS_WRONG_KEY');
    // The attested GenerateDataKey happened under the role; the parent switched; no Encrypt ever reached KMS.
    expect(events).toContainEqual({ eventName: 'GenerateDataKey', user: `arn:aws:sts::${ACCOUNT}:assumed-role/enclave-host/i-0esdk` });
    expect(identity).toBe('parent');
    expect(events.map((e) => e.eventName)).not.toContain('Encrypt');
  });
});

/** The `code` of an error and of every error in its cause chain (the Encryption SDK wraps what the keyring throws). */
function codesIn(error: unknown): string[] {
  const codes: string[] = [];
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 10; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string') codes.push(e.code);
  }
  return codes;
}
