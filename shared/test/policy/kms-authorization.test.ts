import { describe, expect, it } from 'vitest';
import { KmsServiceException } from '@nitro-datakey/shared';
import { authorizeKms, type IdentityPolicies, parsePolicyDocument, policyCaller } from '@nitro-datakey/shared/policy';

/*
 * KMS authorization as AWS documents it, one rule a test. Each `it` names the rule and the page:
 * KMS Developer Guide "Key policies" (https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html),
 * "Default key policy" (.../key-policy-default.html), "Allowing users in other accounts to use a KMS key"
 * (.../key-policy-modifying-external-accounts.html); IAM User Guide "Policy evaluation logic"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html), "NotPrincipal"
 * (.../reference_policies_elements_notprincipal.html), KMS "Condition keys" (.../conditions-kms.html).
 */
const A = '111122223333';
const B = '444455556666';
const KEY = `arn:aws:kms:us-east-1:${A}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const ROOT = `arn:aws:iam::${A}:root`;
const ROLE_SESSION = `arn:aws:sts::${A}:assumed-role/app/i-0abc`;
const USER = `arn:aws:iam::${A}:user/alice`;

const keyPolicy = (...statements: object[]) => parsePolicyDocument(JSON.stringify({ Version: '2012-10-17', Statement: statements }));
const iam = (...statements: object[]) => parsePolicyDocument(JSON.stringify({ Version: '2012-10-17', Statement: statements }), 'iam');
const DEFAULT = keyPolicy({ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' });
const ALLOW_DECRYPT = iam({ Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' });

function decide(
  caller: string,
  policy: ReturnType<typeof keyPolicy> | undefined,
  identity: IdentityPolicies,
  action = 'kms:Decrypt',
  conditions: ReadonlyMap<string, string | readonly string[]> = new Map(),
) {
  return authorizeKms({
    ...(policy ? { keyPolicy: policy } : {}),
    keyAccount: A,
    identityPolicies: identity,
    caller: policyCaller(caller),
    request: { principalArn: caller, action, resourceArn: policy ? KEY : '*', conditions },
  });
}

describe('KMS authorization as AWS decides it', () => {
  it('the account root principal delegates to IAM: a role with no identity policy gets nothing (Default key policy)', () => {
    expect(decide(ROLE_SESSION, DEFAULT, [])).toMatchObject({ decision: 'ImplicitDeny', deniedBy: 'identity-based' });
    expect(decide(USER, DEFAULT, [])).toMatchObject({ decision: 'ImplicitDeny' });
    expect(decide(ROLE_SESSION, DEFAULT, [ALLOW_DECRYPT])).toMatchObject({ decision: 'Allow', policy: 'identity policy 1' });
    // ...an identity policy for another action does not do:
    expect(decide(ROLE_SESSION, DEFAULT, [iam({ Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*' })]).decision).toBe('ImplicitDeny');
  });

  it('the account root user holds every permission of its account (Default key policy)', () => {
    expect(decide(ROOT, DEFAULT, [])).toMatchObject({ decision: 'Allow', statement: 'Enable IAM User Permissions', policy: 'key policy' });
  });

  it('a key policy that names the principal allows it by itself, no identity policy needed (Key policies)', () => {
    const named = keyPolicy({ Effect: 'Allow', Principal: { AWS: USER }, Action: 'kms:Decrypt', Resource: '*' });
    expect(decide(USER, named, []).decision).toBe('Allow');
    expect(decide(`arn:aws:iam::${A}:user/bob`, named, [ALLOW_DECRYPT])).toMatchObject({ decision: 'ImplicitDeny', deniedBy: 'resource-based' });
  });

  it('an explicit Deny in an identity policy wins over the key policy (Policy evaluation logic)', () => {
    const named = keyPolicy({ Effect: 'Allow', Principal: { AWS: USER }, Action: 'kms:*', Resource: '*' });
    const deny = iam({ Sid: 'NoDecrypt', Effect: 'Deny', Action: 'kms:Decrypt', Resource: '*' });
    expect(decide(USER, named, [deny])).toMatchObject({ decision: 'ExplicitDeny', deniedBy: 'identity-based', statement: 'NoDecrypt' });
    expect(decide(USER, named, [deny], 'kms:Encrypt').decision).toBe('Allow');
  });

  it("a role principal stands for the role's sessions, whatever the role's path (Key policies; IAM identifiers)", () => {
    const pathed = keyPolicy({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:role/team/ops/app` }, Action: 'kms:Decrypt', Resource: '*' });
    expect(decide(ROLE_SESSION, pathed, []).decision).toBe('Allow');
    const denyPathed = keyPolicy(
      { Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:*', Resource: '*' },
      { Effect: 'Deny', Principal: { AWS: `arn:aws:iam::${A}:role/team/app` }, Action: 'kms:PutKeyPolicy', Resource: '*' },
    );
    expect(decide(ROLE_SESSION, denyPathed, [], 'kms:PutKeyPolicy').decision).toBe('ExplicitDeny');
    expect(decide(`arn:aws:sts::${A}:assumed-role/other/i-0`, pathed, []).decision).toBe('ImplicitDeny');
  });

  it('another account needs both: the key policy allowing it, and its own identity policy (Allowing users in other accounts)', () => {
    const external = `arn:aws:sts::${B}:assumed-role/partner/s`;
    const toAccountB = keyPolicy({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${B}:root` }, Action: 'kms:Decrypt', Resource: '*' });
    expect(decide(external, toAccountB, [])).toMatchObject({ decision: 'ImplicitDeny', deniedBy: 'identity-based' });
    expect(decide(external, toAccountB, [ALLOW_DECRYPT]).decision).toBe('Allow');
    // Naming the external role directly still needs its account's IAM.
    const toRole = keyPolicy({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${B}:role/partner` }, Action: 'kms:Decrypt', Resource: '*' });
    expect(decide(external, toRole, []).decision).toBe('ImplicitDeny');
    expect(decide(external, toRole, [ALLOW_DECRYPT]).decision).toBe('Allow');
    // Its IAM alone opens nothing: the key policy must name it or its account.
    expect(decide(external, DEFAULT, [ALLOW_DECRYPT])).toMatchObject({ decision: 'ImplicitDeny', deniedBy: 'resource-based' });
  });

  it('NotPrincipal with Deny spares only what it names exactly: an account root spares the root user, not its roles (NotPrincipal)', () => {
    const policy = keyPolicy(
      { Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:*', Resource: '*' },
      { Sid: 'OnlyRoot', Effect: 'Deny', NotPrincipal: { AWS: ROOT }, Action: 'kms:ScheduleKeyDeletion', Resource: '*' },
    );
    expect(decide(ROOT, policy, [], 'kms:ScheduleKeyDeletion').decision).toBe('Allow');
    expect(decide(ROLE_SESSION, policy, [], 'kms:ScheduleKeyDeletion')).toMatchObject({ decision: 'ExplicitDeny', statement: 'OnlyRoot' });
    expect(decide(USER, policy, [], 'kms:ScheduleKeyDeletion').decision).toBe('ExplicitDeny');
  });

  it('NotPrincipal with Allow is refused as malformed (NotPrincipal)', () => {
    expect(() => keyPolicy({ Effect: 'Allow', NotPrincipal: { AWS: USER }, Action: 'kms:*', Resource: '*' })).toThrow(KmsServiceException);
    expect(() => keyPolicy({ Effect: 'Allow', NotPrincipal: { AWS: USER }, Action: 'kms:*', Resource: '*' })).toThrow(/NotPrincipal is allowed only with/);
  });

  it('the context key of kms:EncryptionContext:KEY is case-insensitive, its value is not (KMS condition keys)', () => {
    const policy = keyPolicy({
      Effect: 'Allow',
      Principal: { AWS: USER },
      Action: 'kms:Decrypt',
      Resource: '*',
      Condition: { StringEquals: { 'kms:EncryptionContext:Department': 'IT' } },
    });
    const context = (key: string, value: string) => new Map([[`kms:encryptioncontext:${key.toLowerCase()}`, value]]);
    expect(decide(USER, policy, [], 'kms:Decrypt', context('department', 'IT')).decision).toBe('Allow');
    expect(decide(USER, policy, [], 'kms:Decrypt', context('DEPARTMENT', 'IT')).decision).toBe('Allow');
    expect(decide(USER, policy, [], 'kms:Decrypt', context('Department', 'it')).decision).toBe('ImplicitDeny');
  });

  it('an action on no key is the identity policies alone; permissive mode models an IAM that allows all', () => {
    expect(decide(USER, undefined, [], 'kms:GenerateRandom')).toMatchObject({ decision: 'ImplicitDeny', deniedBy: 'identity-based' });
    expect(decide(USER, undefined, [iam({ Effect: 'Allow', Action: 'kms:GenerateRandom', Resource: '*' })], 'kms:GenerateRandom').decision).toBe('Allow');
    expect(decide(ROOT, undefined, [], 'kms:CreateKey').decision).toBe('Allow');
    expect(decide(USER, undefined, 'permissive', 'kms:CreateKey').decision).toBe('Allow');
    expect(decide(ROLE_SESSION, DEFAULT, 'permissive').decision).toBe('Allow');
    // Permissive IAM still never beats the key policy's own Deny, nor opens a key whose policy names someone else.
    const deny = keyPolicy(
      { Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' },
      { Effect: 'Deny', Principal: { AWS: '*' }, Action: 'kms:Decrypt', Resource: '*' },
    );
    expect(decide(ROLE_SESSION, deny, 'permissive').decision).toBe('ExplicitDeny');
    expect(decide(ROLE_SESSION, keyPolicy({ Effect: 'Allow', Principal: { AWS: USER }, Action: 'kms:*', Resource: '*' }), 'permissive').decision).toBe(
      'ImplicitDeny',
    );
  });
});
