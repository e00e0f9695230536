import {
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  ListGrantsCommand,
  ListRetirableGrantsCommand,
  RetireGrantCommand,
  RevokeGrantCommand,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalKms, startLocalKms } from '@nitro-datakey/devkit';
import { IAM_ALLOW_ALL_KMS, kmsCallers, outcome } from '../../support/index.js';

/*
 * Grants as AWS documents them (KMS Developer Guide "Grants in AWS KMS", "Grant constraints", "Retiring and
 * revoking grants"): a grant lets its grantee use the key for its operations, within its encryption-context
 * constraint, without any policy naming the grantee; an explicit Deny still wins; the retiring principal
 * retires it; RevokeGrant needs kms:RevokeGrant; tokens are accepted with the calls.
 */
const A = '111122223333';
const ADMIN = `arn:aws:iam::${A}:user/admin`;
const WORKER_ROLE = `arn:aws:iam::${A}:role/worker`;
const RETIRER = `arn:aws:iam::${A}:user/retirer`;
const policy = (...statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });

let kms: LocalKms;
const callers = kmsCallers(() => kms);
const as = callers.as;

beforeAll(async () => {
  kms = await startLocalKms({
    account: A,
    principals: { AKIDADMIN: ADMIN, ASIAWORKER: `arn:aws:sts::${A}:assumed-role/worker/i-0w`, AKIDRETIRER: RETIRER },
    iamPolicies: { [ADMIN]: IAM_ALLOW_ALL_KMS },
  });
});
afterAll(async () => {
  callers.destroy();
  await kms?.close();
});

describe('grants', () => {
  it('a grant lets its grantee (a role, through its sessions) use the key within its constraint; retired or revoked, it is gone', async () => {
    const keyId = (await as('AKIDADMIN').send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    const blob = (await as('AKIDADMIN').send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array([9]), EncryptionContext: { app: 'pay' } })))
      .CiphertextBlob as Uint8Array;
    const decrypt = (context: Record<string, string>, tokens?: string[]) =>
      outcome(as('ASIAWORKER').send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: context, ...(tokens ? { GrantTokens: tokens } : {}) })));
    expect(await decrypt({ app: 'pay' })).toBe('AccessDeniedException');

    const { GrantId, GrantToken } = await as('AKIDADMIN').send(
      new CreateGrantCommand({
        KeyId: keyId,
        GranteePrincipal: WORKER_ROLE,
        RetiringPrincipal: RETIRER,
        Operations: ['Decrypt'],
        Constraints: { EncryptionContextSubset: { app: 'pay' } },
        Name: 'worker-decrypt',
      }),
    );
    expect(GrantId).toMatch(/^[0-9a-f]{64}$/);
    expect(await decrypt({ app: 'pay' }, [GrantToken as string])).toBe('OK');
    expect(await decrypt({ app: 'pay' })).toBe('OK');
    // The same Name and grantee: the same grant (CreateGrant is idempotent with a Name).
    const again = await as('AKIDADMIN').send(
      new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: WORKER_ROLE, Operations: ['Decrypt'], Name: 'worker-decrypt' }),
    );
    expect(again.GrantId).toBe(GrantId);
    // Outside its operations or its constraint, nothing.
    expect(await outcome(as('ASIAWORKER').send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array([1]), EncryptionContext: { app: 'pay' } })))).toBe(
      'AccessDeniedException',
    );
    const grants = (await as('AKIDADMIN').send(new ListGrantsCommand({ KeyId: keyId }))).Grants ?? [];
    expect(grants).toEqual([
      expect.objectContaining({
        GrantId,
        Name: 'worker-decrypt',
        GranteePrincipal: WORKER_ROLE,
        RetiringPrincipal: RETIRER,
        Operations: ['Decrypt'],
        IssuingAccount: `arn:aws:iam::${A}:root`,
      }),
    ]);
    // ListRetirableGrants is an IAM permission (no key): the admin has it, the retirer (no identity policy) not.
    expect((await as('AKIDADMIN').send(new ListRetirableGrantsCommand({ RetiringPrincipal: RETIRER }))).Grants?.map((g) => g.GrantId)).toEqual([GrantId]);
    expect(await outcome(as('AKIDRETIRER').send(new ListRetirableGrantsCommand({ RetiringPrincipal: RETIRER })))).toBe('AccessDeniedException');
    // Only the retiring principal (or a grantee granted RetireGrant, or the account) retires it.
    expect(await outcome(as('ASIAWORKER').send(new RetireGrantCommand({ GrantToken })))).toBe('AccessDeniedException');
    await as('AKIDRETIRER').send(new RetireGrantCommand({ GrantToken }));
    expect(await decrypt({ app: 'pay' })).toBe('AccessDeniedException');
    expect((await as('AKIDADMIN').send(new ListGrantsCommand({ KeyId: keyId }))).Grants).toEqual([]);

    const second = await as('AKIDADMIN').send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: WORKER_ROLE, Operations: ['Decrypt'] }));
    expect(await decrypt({ app: 'pay' })).toBe('OK');
    expect(await outcome(as('ASIAWORKER').send(new RevokeGrantCommand({ KeyId: keyId, GrantId: second.GrantId })))).toBe('AccessDeniedException');
    await as('AKIDADMIN').send(new RevokeGrantCommand({ KeyId: keyId, GrantId: second.GrantId }));
    expect(await decrypt({ app: 'pay' })).toBe('AccessDeniedException');
  });

  it('an explicit Deny in the key policy wins over a grant; EncryptionContextEquals needs the context exactly', async () => {
    const keyId = (
      await as('AKIDADMIN').send(
        new CreateKeyCommand({
          Policy: policy(
            { Effect: 'Allow', Principal: { AWS: ADMIN }, Action: 'kms:*', Resource: '*' },
            { Effect: 'Deny', Principal: { AWS: WORKER_ROLE }, Action: 'kms:Encrypt', Resource: '*' },
          ),
        }),
      )
    ).KeyMetadata?.KeyId as string;
    await as('AKIDADMIN').send(
      new CreateGrantCommand({
        KeyId: keyId,
        GranteePrincipal: WORKER_ROLE,
        Operations: ['Encrypt', 'Decrypt'],
        Constraints: { EncryptionContextEquals: { a: '1' } },
      }),
    );
    expect(await outcome(as('ASIAWORKER').send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array([1]), EncryptionContext: { a: '1' } })))).toBe(
      'AccessDeniedException',
    );
    const blob = (await as('AKIDADMIN').send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array([1]), EncryptionContext: { a: '1', b: '2' } })))
      .CiphertextBlob as Uint8Array;
    expect(await outcome(as('ASIAWORKER').send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { a: '1', b: '2' } })))).toBe(
      'AccessDeniedException',
    );
  });

  it('CreateGrant refuses an operation that does not exist and an empty list', async () => {
    const keyId = (await as('AKIDADMIN').send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    for (const Operations of [['Frobnicate'], []]) {
      expect(
        await outcome(as('AKIDADMIN').send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: WORKER_ROLE, Operations: Operations as never }))),
      ).toBe('ValidationException');
    }
  });
});
