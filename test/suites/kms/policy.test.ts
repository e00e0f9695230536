import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  PutKeyPolicyCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptCiphertextForRecipient, toHex, type Nsm } from '@nitro-datakey/shared';
import { enclaveRecipient, localKmsClient, NitroPki, parseMeasurements, SimulatedNsm, startLocalKms, type LocalKms } from '@nitro-datakey/devkit';

const ACCOUNT = '123456789012';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/enclave-app`;
const ADMIN = `arn:aws:iam::${ACCOUNT}:user/admin`;
const PCR0 = 'a1'.repeat(48);

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

async function keyWith(policy: string): Promise<string> {
  return (await admin.send(new CreateKeyCommand({ Policy: policy }))).KeyMetadata?.KeyId as string;
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
            Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
            Action: 'kms:GenerateDataKey',
            Resource: '*',
            Condition: { StringEquals: { 'kms:RecipientAttestation:PCR1': pcr1 }, StringLike: { 'kms:EncryptionContext:tenant': 'team-*' } },
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
