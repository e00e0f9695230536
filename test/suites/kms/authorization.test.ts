import { CreateAliasCommand, CreateKeyCommand, DecryptCommand, EncryptCommand, GenerateRandomCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalKms, localKmsClient, startLocalKms } from '@nitro-datakey/devkit';
import { IAM_ALLOW_ALL_KMS, kmsCallers, outcome } from '../../support/index.js';

/*
 * The local KMS decides as AWS does, through the SDK: the account root statement delegates to identity
 * policies, a role's identity policies reach its sessions (a pathed role too), an explicit Deny in IAM
 * stops Decrypt, and actions on no key are IAM's alone. The rules themselves, one a test, are
 * shared/test/policy/kms-authorization.test.ts.
 */
const A = '111122223333';
const ADMIN = `arn:aws:iam::${A}:user/admin`;
const PATHED_ROLE = `arn:aws:iam::${A}:role/apps/prod/worker`;
const policy = (...statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });

let kms: LocalKms;
const callers = kmsCallers(() => kms);
const as = callers.as;

beforeAll(async () => {
  kms = await startLocalKms({
    account: A,
    principals: {
      AKIDADMIN: ADMIN,
      ASIAWORKER: `arn:aws:sts::${A}:assumed-role/worker/i-0aaa`,
      ASIANOBODY: `arn:aws:sts::${A}:assumed-role/nobody/i-0bbb`,
      AKIDDENIED: `arn:aws:iam::${A}:user/denied`,
    },
    iamPolicies: {
      [ADMIN]: IAM_ALLOW_ALL_KMS,
      // A pathed role's policy: its sessions (whose ARN has no path) get it.
      [PATHED_ROLE]: policy({ Effect: 'Allow', Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateRandom'], Resource: '*' }),
      [`arn:aws:iam::${A}:user/denied`]: [IAM_ALLOW_ALL_KMS, policy({ Effect: 'Deny', Action: 'kms:Decrypt', Resource: '*' })],
    },
  });
});

afterAll(async () => {
  callers.destroy();
  await kms?.close();
});

describe('the local KMS authorizes as AWS does', () => {
  it('models IAM strictly by default, and says so', () => {
    expect(kms.iamMode).toBe('strict');
  });

  it("AWS's default key policy: the admin (IAM kms:*) and the pathed role's sessions (IAM Encrypt/Decrypt) may; a role without IAM may not", async () => {
    const keyId = (await as('AKIDADMIN').send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    const blob = (await as('ASIAWORKER').send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array([7]) }))).CiphertextBlob as Uint8Array;
    expect(await outcome(as('ASIAWORKER').send(new DecryptCommand({ CiphertextBlob: blob })))).toBe('OK');
    expect(await outcome(as('ASIANOBODY').send(new DecryptCommand({ CiphertextBlob: blob })))).toBe('AccessDeniedException');
    const denied = await as('ASIANOBODY')
      .send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array([7]) }))
      .catch((e: Error) => e);
    expect(denied).toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining('because no identity-based policy allows the kms:Encrypt action'),
    });
  });

  it('an explicit Deny in the identity policy stops Decrypt, though another of its policies allows kms:*', async () => {
    const keyId = (await as('AKIDADMIN').send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    const blob = (await as('AKIDDENIED').send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array([1]) }))).CiphertextBlob as Uint8Array;
    const refused = await as('AKIDDENIED')
      .send(new DecryptCommand({ CiphertextBlob: blob }))
      .catch((e: Error) => e);
    expect(refused).toMatchObject({ name: 'AccessDeniedException', message: expect.stringContaining('with an explicit deny in an identity-based policy') });
  });

  it('GenerateRandom and CreateKey are decided by identity policies alone', async () => {
    expect(await outcome(as('ASIAWORKER').send(new GenerateRandomCommand({ NumberOfBytes: 8 })))).toBe('OK');
    expect(await outcome(as('ASIANOBODY').send(new GenerateRandomCommand({ NumberOfBytes: 8 })))).toBe('AccessDeniedException');
    expect(await outcome(as('ASIAWORKER').send(new CreateKeyCommand({})))).toBe('AccessDeniedException');
  });

  it("conditions on the request AWS accepts: aws:SourceIp from the connection, and the console's kms:GrantIsForAWSResource statement", async () => {
    const onlyFrom = (cidr: string) =>
      policy(
        { Effect: 'Allow', Principal: { AWS: ADMIN }, Action: 'kms:*', Resource: '*' },
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${A}:role/apps/prod/worker` },
          Action: 'kms:Encrypt',
          Resource: '*',
          Condition: { IpAddress: { 'aws:SourceIp': cidr } },
        },
        {
          Sid: 'Allow attachment of persistent resources',
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${A}:role/apps/prod/worker` },
          Action: ['kms:CreateGrant', 'kms:ListGrants', 'kms:RevokeGrant'],
          Resource: '*',
          Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
        },
      );
    const loopback = (await as('AKIDADMIN').send(new CreateKeyCommand({ Policy: onlyFrom('127.0.0.0/8') }))).KeyMetadata?.KeyId as string;
    const elsewhere = (await as('AKIDADMIN').send(new CreateKeyCommand({ Policy: onlyFrom('10.0.0.0/8') }))).KeyMetadata?.KeyId as string;
    expect(await outcome(as('ASIAWORKER').send(new EncryptCommand({ KeyId: loopback, Plaintext: new Uint8Array([1]) })))).toBe('OK');
    expect(await outcome(as('ASIAWORKER').send(new EncryptCommand({ KeyId: elsewhere, Plaintext: new Uint8Array([1]) })))).toBe('AccessDeniedException');
  });

  it('kms:RequestAlias and kms:ResourceAliases: a key usable only when named by its alias, or only while an alias points at it', async () => {
    const worker = `arn:aws:iam::${A}:role/apps/prod/worker`;
    const byAlias = (condition: object) =>
      policy(
        { Effect: 'Allow', Principal: { AWS: ADMIN }, Action: 'kms:*', Resource: '*' },
        { Effect: 'Allow', Principal: { AWS: worker }, Action: 'kms:Encrypt', Resource: '*', Condition: condition },
      );
    const named = (await as('AKIDADMIN').send(new CreateKeyCommand({ Policy: byAlias({ StringEquals: { 'kms:RequestAlias': 'alias/payments' } }) })))
      .KeyMetadata?.KeyId as string;
    await as('AKIDADMIN').send(new CreateAliasCommand({ AliasName: 'alias/payments', TargetKeyId: named }));
    const encrypt = (keyId: string) => outcome(as('ASIAWORKER').send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array([1]) })));
    expect(await encrypt('alias/payments')).toBe('OK');
    expect(await encrypt(named)).toBe('AccessDeniedException');
    const tagged = (
      await as('AKIDADMIN').send(new CreateKeyCommand({ Policy: byAlias({ 'ForAnyValue:StringLike': { 'kms:ResourceAliases': 'alias/team-*' } }) }))
    ).KeyMetadata?.KeyId as string;
    expect(await encrypt(tagged)).toBe('AccessDeniedException');
    await as('AKIDADMIN').send(new CreateAliasCommand({ AliasName: 'alias/team-a', TargetKeyId: tagged }));
    expect(await encrypt(tagged)).toBe('OK');
  });

  it('--iam permissive models an IAM that allows callers without a policy everything the key policy delegates', async () => {
    const permissive = await startLocalKms({ account: A, iamMode: 'permissive', principals: { ASIANOBODY: `arn:aws:sts::${A}:assumed-role/nobody/i-0bbb` } });
    const client = localKmsClient(permissive, { accessKeyId: 'ASIANOBODY' });
    try {
      expect(permissive.iamMode).toBe('permissive');
      const keyId = (await client.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
      expect(await outcome(client.send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array([1]) })))).toBe('OK');
    } finally {
      client.destroy();
      await permissive.close();
    }
  });
});
