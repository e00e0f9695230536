import { CreateKeyCommand, GenerateDataKeyPairWithoutPlaintextCommand, PutKeyPolicyCommand, SignCommand, TagResourceCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalKms, localKmsClient, startLocalKms } from '@nitro-datakey/devkit';
import { IAM_ALLOW_ALL_KMS, kmsCallers, outcome } from '../../support/index.js';

/*
 * What the local KMS knows of a principal beyond its ARN (tags and organization, declared with it), which
 * roles and users exist (a key policy naming another is refused, as AWS refuses it), and the condition keys
 * a request's own parameters set (IAM User Guide "AWS global condition context keys"; KMS Developer Guide
 * "Condition keys for AWS KMS").
 */
const A = '111122223333';
const ORG = 'o-a1b2c3d4e5';
const ADMIN = `arn:aws:iam::${A}:user/admin`;
const PAYMENTS = `arn:aws:sts::${A}:assumed-role/payments/i-0aaa`;
const SEARCH = `arn:aws:sts::${A}:assumed-role/search/i-0bbb`;
const policy = (...statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const adminStatement = { Sid: 'admin', Effect: 'Allow', Principal: { AWS: ADMIN }, Action: 'kms:*', Resource: '*' };

let kms: LocalKms;
const callers = kmsCallers(() => kms);
const as = callers.as;

beforeAll(async () => {
  kms = await startLocalKms({
    account: A,
    principals: {
      AKIDADMIN: ADMIN,
      ASIAPAYMENTS: { arn: PAYMENTS, tags: { Team: 'payments' }, organizationId: ORG, organizationPaths: [`${ORG}/r-ab12/ou-ab12-11111111/`] },
      ASIASEARCH: { arn: SEARCH, tags: { team: 'search' } },
    },
    iamPolicies: { [ADMIN]: IAM_ALLOW_ALL_KMS },
  });
});

afterAll(async () => {
  callers.destroy();
  await kms?.close();
});

const createKey = async (statements: object[], extra: object = {}) =>
  (await as('AKIDADMIN').send(new CreateKeyCommand({ Policy: policy(adminStatement, ...statements), ...extra }))).KeyMetadata?.KeyId as string;

describe('principals the local KMS knows', () => {
  it('a key policy naming a role or user that does not exist is MalformedPolicyDocumentException in AWS words, with the one it did not know', async () => {
    const ghost = `arn:aws:iam::${A}:role/ghost`;
    const refused = await as('AKIDADMIN')
      .send(new CreateKeyCommand({ Policy: policy(adminStatement, { Effect: 'Allow', Principal: { AWS: ghost }, Action: 'kms:Decrypt', Resource: '*' }) }))
      .catch((e: Error) => e);
    expect(refused).toMatchObject({ name: 'MalformedPolicyDocumentException' });
    expect((refused as Error).message).toMatch(/^Policy contains a statement with one or more invalid principals\. .*role\/ghost.*--principal/);
    // PutKeyPolicy holds the same rule.
    const keyId = await createKey([]);
    const put = as('AKIDADMIN').send(
      new PutKeyPolicyCommand({
        KeyId: keyId,
        Policy: policy(adminStatement, { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:user/nobody` }, Action: 'kms:*', Resource: '*' }),
      }),
    );
    expect(await outcome(put)).toBe('MalformedPolicyDocumentException');
  });

  it('a declared role (by its ARN with any path, or a session of it), any account root and a service principal exist', async () => {
    const statements = [
      {
        Effect: 'Allow',
        Principal: { AWS: [`arn:aws:iam::${A}:role/payments`, `arn:aws:iam::${A}:role/team/a/search`] },
        Action: 'kms:Decrypt',
        Resource: '*',
      },
      { Effect: 'Allow', Principal: { AWS: PAYMENTS }, Action: 'kms:Encrypt', Resource: '*' },
      { Effect: 'Allow', Principal: { AWS: ['444455556666', 'arn:aws:iam::777788889999:root'] }, Action: 'kms:Decrypt', Resource: '*' },
      { Effect: 'Allow', Principal: { Service: 'logs.us-east-1.amazonaws.com' }, Action: 'kms:Encrypt', Resource: '*' },
    ];
    expect(await createKey(statements)).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each([
    ['a wildcard inside an ARN', { AWS: `arn:aws:iam::${A}:role/pay*` }],
    ['a principal type key policies do not take', { Federated: 'cognito-identity.amazonaws.com' }],
    ['a malformed ARN', { AWS: 'arn:aws:iam::123:role/x' }],
    ['a malformed service name', { Service: 'not a service' }],
  ])('%s is MalformedPolicyDocumentException', async (_, principal) => {
    const create = as('AKIDADMIN').send(
      new CreateKeyCommand({ Policy: policy(adminStatement, { Effect: 'Allow', Principal: principal, Action: 'kms:*', Resource: '*' }) }),
    );
    expect(await outcome(create)).toBe('MalformedPolicyDocumentException');
  });

  it('--iam permissive does not check that principals exist (a quick local run names whom it likes)', async () => {
    const permissive = await startLocalKms({ account: A, iamMode: 'permissive' });
    const client = localKmsClient(permissive);
    try {
      const keyPolicy = policy(
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: 'kms:*', Resource: '*' },
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${A}:role/ghost` },
          Action: 'kms:Decrypt',
          Resource: '*',
        },
      );
      expect(await outcome(client.send(new CreateKeyCommand({ Policy: keyPolicy })))).toBe('OK');
    } finally {
      client.destroy();
      await permissive.close();
    }
  });
});

describe('condition keys from the principal and from the request', () => {
  it('aws:PrincipalTag/KEY (the tag key in any case), aws:PrincipalOrgID and aws:PrincipalOrgPaths come from the declared principal', async () => {
    const keyId = await createKey([
      {
        Sid: 'team',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: 'kms:GenerateDataKeyPairWithoutPlaintext',
        Resource: '*',
        Condition: { StringEquals: { 'aws:PrincipalTag/team': 'payments' } },
      },
      { Sid: 'org', Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:Sign', Resource: '*', Condition: { StringEquals: { 'aws:PrincipalOrgID': ORG } } },
      {
        Sid: 'ou',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: 'kms:TagResource',
        Resource: '*',
        Condition: { 'ForAnyValue:StringLike': { 'aws:PrincipalOrgPaths': `${ORG}/r-ab12/ou-ab12-11111111/*` } },
      },
    ]);
    const pair = (who: string) => outcome(as(who).send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: keyId, KeyPairSpec: 'ECC_NIST_P256' })));
    expect(await pair('ASIAPAYMENTS')).toBe('OK');
    expect(await pair('ASIASEARCH')).toBe('AccessDeniedException');
    const tag = (who: string) => outcome(as(who).send(new TagResourceCommand({ KeyId: keyId, Tags: [{ TagKey: 'a', TagValue: 'b' }] })));
    expect(await tag('ASIAPAYMENTS')).toBe('OK');
    expect(await tag('ASIASEARCH')).toBe('AccessDeniedException');
  });

  it('kms:SigningAlgorithm and kms:MessageType, kms:DataKeyPairSpec, aws:ResourceTag/KEY and aws:RequestTag/KEY reach the decision', async () => {
    const signer = await createKey(
      [
        {
          Effect: 'Allow',
          Principal: { AWS: PAYMENTS },
          Action: 'kms:Sign',
          Resource: '*',
          Condition: { StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256', 'kms:MessageType': 'DIGEST', 'aws:ResourceTag/stage': 'prod' } },
        },
      ],
      { KeyUsage: 'SIGN_VERIFY', KeySpec: 'ECC_NIST_P256', Tags: [{ TagKey: 'stage', TagValue: 'prod' }] },
    );
    const sign = (MessageType: 'RAW' | 'DIGEST') =>
      outcome(as('ASIAPAYMENTS').send(new SignCommand({ KeyId: signer, Message: new Uint8Array(32), MessageType, SigningAlgorithm: 'ECDSA_SHA_256' })));
    expect(await sign('DIGEST')).toBe('OK');
    expect(await sign('RAW')).toBe('AccessDeniedException');
    // Retagging the key to another stage takes the Allow away.
    await as('AKIDADMIN').send(new TagResourceCommand({ KeyId: signer, Tags: [{ TagKey: 'stage', TagValue: 'test' }] }));
    expect(await sign('DIGEST')).toBe('AccessDeniedException');

    const keys = await createKey([
      {
        Effect: 'Allow',
        Principal: { AWS: PAYMENTS },
        Action: 'kms:GenerateDataKeyPairWithoutPlaintext',
        Resource: '*',
        Condition: { StringEquals: { 'kms:DataKeyPairSpec': 'RSA_2048' } },
      },
      {
        Effect: 'Allow',
        Principal: { AWS: PAYMENTS },
        Action: 'kms:TagResource',
        Resource: '*',
        Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['owner'] } },
      },
    ]);
    const pair = (KeyPairSpec: 'RSA_2048' | 'ECC_NIST_P256') =>
      outcome(as('ASIAPAYMENTS').send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: keys, KeyPairSpec })));
    expect(await pair('RSA_2048')).toBe('OK');
    expect(await pair('ECC_NIST_P256')).toBe('AccessDeniedException');
    const tag = (TagKey: string) => outcome(as('ASIAPAYMENTS').send(new TagResourceCommand({ KeyId: keys, Tags: [{ TagKey, TagValue: 'x' }] })));
    expect(await tag('owner')).toBe('OK');
    expect(await tag('cost-centre')).toBe('AccessDeniedException');
  });
});
