import {
  CreateAliasCommand,
  CreateKeyCommand,
  DeleteAliasCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateRandomCommand,
  PutKeyPolicyCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptCiphertextForRecipient, enclaveIamPolicy, toHex, type Nsm } from '@nitro-datakey/shared';
import { localKmsClient, NitroPki, parseMeasurements, SimulatedNsm, startLocalKms, type LocalKms } from '@nitro-datakey/devkit';
import { enclaveRecipient } from '../../support/index.js';

const ACCOUNT = '123456789012';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/enclave-app`;
const ADMIN = `arn:aws:iam::${ACCOUNT}:user/admin`;
const PCR0 = 'a1'.repeat(48);
const ADMIN_IAM_POLICY = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] });

let kms: LocalKms;
let admin: KMSClient;
let app: KMSClient;
let enclave: Nsm;
let impostor: Nsm;
let debugEnclave: Nsm;

const nameOf = async (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'OK',
    (e: Error) => e.name,
  );

beforeAll(async () => {
  const pki = await NitroPki.create();
  kms = await startLocalKms({
    account: ACCOUNT,
    trustedRootFingerprints: [pki.rootFingerprint],
    principals: { AKIDADMIN: ADMIN, AKIDAPP: `arn:aws:sts::${ACCOUNT}:assumed-role/enclave-app/i-0abc` },
    // The admin's own IAM grants it KMS, as a real administrator's does: key policies that name the
    // account root reach it only through such a policy (the enclave role has none).
    iamPolicies: { [ADMIN]: ADMIN_IAM_POLICY },
  });
  admin = localKmsClient(kms, { accessKeyId: 'AKIDADMIN' });
  app = localKmsClient(kms, { accessKeyId: 'AKIDAPP' });
  enclave = await SimulatedNsm.client({ pki, measurements: parseMeasurements({ PCR0, PCR1: 'b2'.repeat(48), PCR2: 'c3'.repeat(48) }) });
  impostor = await SimulatedNsm.client({ pki, measurements: parseMeasurements({ PCR0: 'ff'.repeat(48), PCR1: 'b2'.repeat(48), PCR2: 'c3'.repeat(48) }) });
  debugEnclave = await SimulatedNsm.client({ pki, debug: true, measurements: parseMeasurements({ PCR0, PCR1: 'b2'.repeat(48), PCR2: 'c3'.repeat(48) }) });
});

afterAll(async () => {
  admin?.destroy();
  app?.destroy();
  await kms?.close();
});

/** The policy shape the project recommends: admin manages, the role decrypts only with a matching enclave. */
function pcrPolicy(pcr0: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'Admin',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
        Action: ['kms:Describe*', 'kms:Get*', 'kms:Put*', 'kms:Create*', 'kms:Enable*', 'kms:Disable*'],
        Resource: '*',
      },
      {
        Sid: 'EnclaveOnly',
        Effect: 'Allow',
        Principal: { AWS: ROLE },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: '*',
        Condition: { StringEqualsIgnoreCase: { 'kms:RecipientAttestation:ImageSha384': pcr0 } },
      },
      {
        Sid: 'NoPlainCalls',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: '*',
        Condition: { Null: { 'kms:RecipientAttestation:ImageSha384': 'true' } },
      },
    ],
  });
}

/** A key with `policy`; these test policies grant only what they test, so they bypass the lockout check. */
async function keyWith(policy: string): Promise<string> {
  return (await admin.send(new CreateKeyCommand({ Policy: policy, BypassPolicyLockoutSafetyCheck: true }))).KeyMetadata?.KeyId as string;
}

describe('key policies', () => {
  it('a key pinned to PCR0 gives a data key to that enclave only', async () => {
    const keyId = await keyWith(pcrPolicy(PCR0.toUpperCase())); // IgnoreCase: upper-case in the policy still matches
    const good = await enclaveRecipient(enclave);
    const answer = await app.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', Recipient: good.recipient }));
    expect(decryptCiphertextForRecipient(answer.CiphertextForRecipient as Uint8Array, good.privateKey)).toHaveLength(32);

    const bad = await enclaveRecipient(impostor);
    expect(await nameOf(app.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', Recipient: bad.recipient })))).toBe('AccessDeniedException');
    const dbg = await enclaveRecipient(debugEnclave);
    expect(await nameOf(app.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', Recipient: dbg.recipient })))).toBe('AccessDeniedException');
  });

  it('refuses the same call without a Recipient, even from the allowed role', async () => {
    const keyId = await keyWith(pcrPolicy(PCR0));
    const e = await app.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' })).catch((err: Error) => err);
    expect((e as Error).name).toBe('AccessDeniedException');
    expect((e as Error).message).toContain('explicit deny');
  });

  it('a Decrypt of an existing blob follows the same rule', async () => {
    const open = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }],
    });
    const keyId = await keyWith(open);
    const blob = (await admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array([42]) }))).CiphertextBlob as Uint8Array;
    await admin.send(new PutKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default', Policy: pcrPolicy(PCR0) }));
    expect(await nameOf(app.send(new DecryptCommand({ CiphertextBlob: blob })))).toBe('AccessDeniedException');
    const good = await enclaveRecipient(enclave);
    const dec = await app.send(new DecryptCommand({ CiphertextBlob: blob, Recipient: good.recipient }));
    expect(decryptCiphertextForRecipient(dec.CiphertextForRecipient as Uint8Array, good.privateKey)).toEqual(new Uint8Array([42]));
  });

  it('principals: the role matches its sessions, other callers get no allow; admin rights do not include data keys', async () => {
    const keyId = await keyWith(pcrPolicy(PCR0));
    const good = await enclaveRecipient(enclave);
    expect(await nameOf(admin.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', Recipient: good.recipient })))).toBe('AccessDeniedException');
    expect(await nameOf(admin.send(new DescribeKeyCommand({ KeyId: keyId })))).toBe('OK');
    const stranger = localKmsClient(kms, { accessKeyId: 'AKIDUNMAPPED' }); // unmapped: the account root, which the Admin statement covers
    expect(await nameOf(stranger.send(new DescribeKeyCommand({ KeyId: keyId })))).toBe('OK');
    expect(await nameOf(stranger.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', Recipient: good.recipient })))).toBe(
      'AccessDeniedException',
    );
    stranger.destroy();
  });

  it('PCR<n> conditions, StringEquals on lower-case hex, StringLike and encryption-context keys', async () => {
    const pcr1 = 'b2'.repeat(48);
    const keyId = await keyWith(
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: ROLE },
            Action: 'kms:GenerateDataKey',
            Resource: '*',
            // The context key is matched case-insensitively (AWS); its value is not.
            Condition: { StringEquals: { 'kms:RecipientAttestation:PCR1': pcr1 }, StringLike: { 'kms:EncryptionContext:Tenant': 'team-*' } },
          },
        ],
      }),
    );
    const good = await enclaveRecipient(enclave);
    expect(
      await nameOf(
        app.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', Recipient: good.recipient, EncryptionContext: { tenant: 'team-a' } })),
      ),
    ).toBe('OK');
    expect(
      await nameOf(
        app.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', Recipient: good.recipient, EncryptionContext: { tenant: 'other' } })),
      ),
    ).toBe('AccessDeniedException');
    expect(await nameOf(app.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', Recipient: good.recipient })))).toBe('AccessDeniedException');
    expect(toHex(new Uint8Array(48).fill(0xb2))).toBe(pcr1);
  });

  it('an explicit deny wins over an allow', async () => {
    const keyId = await keyWith(
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:*', Resource: '*' },
          { Effect: 'Deny', Principal: { AWS: ADMIN }, Action: 'kms:Encrypt', Resource: '*' },
        ],
      }),
    );
    expect(await nameOf(admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array(1) })))).toBe('AccessDeniedException');
    expect(await nameOf(app.send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array(1) })))).toBe('OK');
  });
});

describe('key policy semantics, as IAM evaluates them', () => {
  const allowApp = (extra: Record<string, unknown>) =>
    JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: ROLE }, ...extra }] });
  const generate = (keyId: string, context?: Record<string, string>) =>
    nameOf(app.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', ...(context ? { EncryptionContext: context } : {}) })));

  it('a statement without Resource, or without Action, has no effect (it is not "*")', async () => {
    expect(await generate(await keyWith(allowApp({ Action: 'kms:GenerateDataKey' })))).toBe('AccessDeniedException');
    expect(await generate(await keyWith(allowApp({ Resource: '*' })))).toBe('AccessDeniedException');
    expect(await generate(await keyWith(allowApp({ Action: 'kms:GenerateDataKey', Resource: '*' })))).toBe('OK');
  });

  it('refuses a condition key KMS never sets, at CreateKey and at PutKeyPolicy', async () => {
    const bad = allowApp({ Action: 'kms:*', Resource: '*', Condition: { StringEquals: { 'kms:RecipientAttestation:PCR99': 'ab' } } });
    const typo = allowApp({ Action: 'kms:*', Resource: '*', Condition: { StringEquals: { 'kms:RecipientAtestation:ImageSha384': 'ab' } } });
    for (const policy of [bad, typo]) {
      expect(await nameOf(admin.send(new CreateKeyCommand({ Policy: policy, BypassPolicyLockoutSafetyCheck: true })))).toBe('MalformedPolicyDocumentException');
    }
    const keyId = await keyWith(allowApp({ Action: 'kms:*', Resource: '*' }));
    expect(await nameOf(app.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: typo, BypassPolicyLockoutSafetyCheck: true })))).toBe(
      'MalformedPolicyDocumentException',
    );
  });

  it('evaluates StringNotEquals, StringNotLike, Bool, IfExists and ForAnyValue/ForAllValues', async () => {
    const notProd = await keyWith(
      allowApp({ Action: 'kms:GenerateDataKey', Resource: '*', Condition: { StringNotEquals: { 'kms:EncryptionContext:env': 'prod' } } }),
    );
    expect(await generate(notProd, { env: 'dev' })).toBe('OK');
    expect(await generate(notProd, { env: 'prod' })).toBe('AccessDeniedException');
    expect(await generate(notProd)).toBe('OK'); // a missing key matches no value: the negation holds
    const notLike = await keyWith(
      allowApp({ Action: 'kms:GenerateDataKey', Resource: '*', Condition: { StringNotLike: { 'kms:EncryptionContext:team': 'red-*' } } }),
    );
    expect(await generate(notLike, { team: 'blue-1' })).toBe('OK');
    expect(await generate(notLike, { team: 'red-1' })).toBe('AccessDeniedException');
    const ifExists = await keyWith(
      allowApp({ Action: 'kms:GenerateDataKey', Resource: '*', Condition: { StringEqualsIfExists: { 'kms:EncryptionContext:env': 'dev' } } }),
    );
    expect(await generate(ifExists)).toBe('OK');
    expect(await generate(ifExists, { env: 'dev' })).toBe('OK');
    expect(await generate(ifExists, { env: 'prod' })).toBe('AccessDeniedException');
    const onlyKnownKeys = await keyWith(
      allowApp({ Action: 'kms:GenerateDataKey', Resource: '*', Condition: { 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['app', 'env'] } } }),
    );
    expect(await generate(onlyKnownKeys, { app: 'x', env: 'y' })).toBe('OK');
    expect(await generate(onlyKnownKeys, { app: 'x', other: 'y' })).toBe('AccessDeniedException');
    const anyApp = await keyWith(
      allowApp({ Action: 'kms:GenerateDataKey', Resource: '*', Condition: { 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': 'app' } } }),
    );
    expect(await generate(anyApp, { app: 'x', other: 'y' })).toBe('OK');
    expect(await generate(anyApp)).toBe('AccessDeniedException');
    const attested = await keyWith(allowApp({ Action: 'kms:GenerateDataKey', Resource: '*', Condition: { Bool: { 'kms:ViaService': 'true' } } }));
    expect(await generate(attested)).toBe('AccessDeniedException'); // kms:ViaService is never set here
  });

  it('evaluates NotPrincipal, NotAction and NotResource; an explicit Deny wins', async () => {
    const keyId = await keyWith(
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { AWS: [`arn:aws:iam::${ACCOUNT}:root`, ROLE] }, NotAction: ['kms:Decrypt', 'kms:PutKeyPolicy'], Resource: '*' },
          { Effect: 'Deny', NotPrincipal: { AWS: ADMIN }, Action: 'kms:DescribeKey', Resource: '*' },
          { Effect: 'Allow', Principal: { AWS: ADMIN }, Action: 'kms:Encrypt', NotResource: 'arn:aws:kms:*:*:key/*' },
        ],
      }),
    );
    expect(await generate(keyId)).toBe('OK'); // allowed by NotAction
    expect(await nameOf(admin.send(new DescribeKeyCommand({ KeyId: keyId })))).toBe('OK');
    expect(await nameOf(app.send(new DescribeKeyCommand({ KeyId: keyId })))).toBe('AccessDeniedException'); // the Deny, whatever allows it
    const blob = (await admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array([1]) }))).CiphertextBlob as Uint8Array;
    expect(await nameOf(admin.send(new DecryptCommand({ CiphertextBlob: blob })))).toBe('AccessDeniedException'); // excluded by NotAction
  });

  it("holds AWS's lockout safety check, unless BypassPolicyLockoutSafetyCheck", async () => {
    const lockedOut = allowApp({ Action: 'kms:GenerateDataKey', Resource: '*' }); // the admin could never change it again
    const refused = await admin.send(new CreateKeyCommand({ Policy: lockedOut })).catch((e: Error) => e);
    expect(refused).toMatchObject({
      name: 'MalformedPolicyDocumentException',
      message: expect.stringContaining('will not allow you to update the key policy'),
    });
    expect(await nameOf(admin.send(new CreateKeyCommand({ Policy: lockedOut, BypassPolicyLockoutSafetyCheck: true })))).toBe('OK');
    const keyId = await keyWith(allowApp({ Action: 'kms:*', Resource: '*' }));
    expect(
      await nameOf(
        app.send(
          new PutKeyPolicyCommand({
            KeyId: keyId,
            Policy: JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: { AWS: ADMIN }, Action: 'kms:*', Resource: '*' }] }),
          }),
        ),
      ),
    ).toBe('MalformedPolicyDocumentException');
  });
});

describe('aliases whose key is gone', () => {
  it('only the account itself may delete a dangling alias (there is no key policy to ask)', async () => {
    const keyId = await keyWith(accountMayDoEverything());
    await admin.send(new CreateAliasCommand({ AliasName: 'alias/dangling', TargetKeyId: keyId }));
    kms.store.keys.delete(keyId); // as if its material were gone: the alias now points at nothing
    expect(await nameOf(app.send(new DeleteAliasCommand({ AliasName: 'alias/dangling' })))).toBe('AccessDeniedException');
    const root = localKmsClient(kms, { accessKeyId: 'AKIDUNMAPPED' }); // unmapped: the account root
    expect(await nameOf(root.send(new DeleteAliasCommand({ AliasName: 'alias/dangling' })))).toBe('OK');
    root.destroy();
  });
});

function accountMayDoEverything(): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }],
  });
}

describe('GenerateRandom under an IAM-style policy (what `nitro-datakey policy --iam-policy` prints)', () => {
  it('the attested role may call it with a matching document; without one, or as anyone else, it is refused', async () => {
    const pki = await NitroPki.create();
    const iam = JSON.stringify(enclaveIamPolicy({ account: ACCOUNT, roleArn: ROLE, pcrs: new Map([[0, PCR0]]) }));
    const local = await startLocalKms({
      account: ACCOUNT,
      trustedRootFingerprints: [pki.rootFingerprint],
      principals: { AKIDAPP: `arn:aws:sts::${ACCOUNT}:assumed-role/enclave-app/i-0abc`, AKIDADMIN: ADMIN },
      iamPolicies: { [`arn:aws:sts::${ACCOUNT}:assumed-role/enclave-app/i-0abc`]: iam },
    });
    const role = localKmsClient(local, { accessKeyId: 'AKIDAPP' });
    const other = localKmsClient(local, { accessKeyId: 'AKIDADMIN' });
    try {
      const good = await enclaveRecipient(await SimulatedNsm.client({ pki, measurements: parseMeasurements({ PCR0 }) }));
      const bad = await enclaveRecipient(await SimulatedNsm.client({ pki, measurements: parseMeasurements({ PCR0: 'ee'.repeat(48) }) }));
      expect(await nameOf(role.send(new GenerateRandomCommand({ NumberOfBytes: 32, Recipient: good.recipient })))).toBe('OK');
      expect(await nameOf(role.send(new GenerateRandomCommand({ NumberOfBytes: 32, Recipient: bad.recipient })))).toBe('AccessDeniedException');
      expect(await nameOf(role.send(new GenerateRandomCommand({ NumberOfBytes: 32 })))).toBe('AccessDeniedException');
      expect(await nameOf(other.send(new GenerateRandomCommand({ NumberOfBytes: 32, Recipient: good.recipient })))).toBe('AccessDeniedException');
      expect(await nameOf(role.send(new CreateKeyCommand({})))).toBe('AccessDeniedException'); // CreateKey, too, needs an IAM allow
    } finally {
      role.destroy();
      other.destroy();
      await local.close();
    }
  });
});

describe('wildcards in a key policy cannot stall the server', () => {
  it('a CreateKey whose policy has a pathological pattern is answered, and the server goes on answering', async () => {
    // The lockout check evaluates the policy against the caller at once: a backtracking matcher would
    // spend exponential time on `*?` x 16 against the key ARN and hold every other request behind it.
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: ADMIN }, Action: 'kms:*', Resource: `arn:aws:kms:${'*?'.repeat(16)}!` },
        { Effect: 'Allow', Principal: { AWS: ADMIN }, Action: `kms:${'*?'.repeat(16)}!`, Resource: '*' },
      ],
    });
    expect(await nameOf(admin.send(new CreateKeyCommand({ Policy: policy })))).toBe('MalformedPolicyDocumentException');
    expect(await nameOf(admin.send(new CreateKeyCommand({ Policy: policy, BypassPolicyLockoutSafetyCheck: true })))).toBe('OK');
  }, 20_000);
});
