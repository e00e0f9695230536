import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GetKeyPolicyCommand,
  type KMSClient,
  PutKeyPolicyCommand,
  ScheduleKeyDeletionCommand,
  UpdateAliasCommand,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptCiphertextForRecipient, enclaveKeyPolicy, toHex } from '@nitro-datakey/shared';
import { localKmsClient, NitroPki, SimulatedNsm, startLocalKms, type LocalKms } from '@nitro-datakey/devkit';
import { nitroDatakey as main } from '@nitro-datakey/commands';
import { enclaveRecipient, IAM_ALLOW_ALL_KMS } from '../../support/index.js';
import { scratchDir } from '../../support/scratch.js';

const ACCOUNT = '444455556666';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/enclave-host`;
const pcr = (byte: string) => byte.repeat(48);
// What `nitro-cli build-enclave` prints for a signed EIF.
const MEASUREMENTS = { Measurements: { HashAlgorithm: 'Sha384 { ... }', PCR0: pcr('0a'), PCR1: pcr('1b'), PCR2: pcr('2c'), PCR8: pcr('8d') } };

let dir: string;
let kms: LocalKms;
let pki: NitroPki;
let admin: KMSClient;
let role: KMSClient;
let keyId: string;

async function runCli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, {
    io: {
      stdout: (t) => {
        out += String(t);
      },
      stderr: (t) => {
        err += t;
      },
      readStdin: async () => new Uint8Array(0),
    },
  });
  return { code, out, err };
}

function enclaveWith(overrides: Record<string, string> = {}, debug = false) {
  const m = new Map<number, Uint8Array>();
  for (const [k, v] of Object.entries({ ...MEASUREMENTS.Measurements, ...overrides }))
    if (k.startsWith('PCR')) m.set(Number(k.slice(3)), new Uint8Array(Buffer.from(v, 'hex')));
  return SimulatedNsm.client({ pki, measurements: m, debug });
}

beforeAll(async () => {
  dir = scratchDir('ndk-policy-');
  writeFileSync(join(dir, 'measurements.json'), JSON.stringify(MEASUREMENTS));
  pki = await NitroPki.create();
  kms = await startLocalKms({
    account: ACCOUNT,
    trustedRootFingerprints: [pki.rootFingerprint],
    principals: { AKIDADMIN: `arn:aws:iam::${ACCOUNT}:user/admin`, AKIDHOST: `arn:aws:sts::${ACCOUNT}:assumed-role/enclave-host/i-0123` },
    // The role's IAM grants it all of KMS, the worst case: the key policy's Deny must hold anyway.
    iamPolicies: { [`arn:aws:iam::${ACCOUNT}:user/admin`]: IAM_ALLOW_ALL_KMS, [ROLE]: IAM_ALLOW_ALL_KMS },
  });
  admin = localKmsClient(kms, { accessKeyId: 'AKIDADMIN' });
  role = localKmsClient(kms, { accessKeyId: 'AKIDHOST' });
  const generated = await runCli(['policy', '--measurements', join(dir, 'measurements.json'), '--account', ACCOUNT, '--role-arn', ROLE]);
  expect(generated.code).toBe(0);
  keyId = (await admin.send(new CreateKeyCommand({ Policy: generated.out }))).KeyMetadata?.KeyId as string;
});

afterAll(async () => {
  admin?.destroy();
  role?.destroy();
  await kms?.close();
});

const base = (): string[] => ['policy', '--measurements', join(dir, 'measurements.json'), '--account', ACCOUNT, '--role-arn', ROLE];

/** A statement of a policy document by its Sid. */
// biome-ignore lint/suspicious/noExplicitAny: a parsed policy document, read in assertions only
const statement = (doc: { Statement: any[] }, sid: string) => doc.Statement.find((st: { Sid?: string }) => st.Sid === sid);

const nameOf = (p: Promise<unknown>) =>
  p.then(
    () => 'OK',
    (e: Error) => e.name,
  );

describe('nitro-datakey policy, loaded into the local KMS', () => {
  it('a simulated enclave with the measured PCRs gets a data key', async () => {
    const enclave = await enclaveRecipient(await enclaveWith());
    const answer = await role.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', Recipient: enclave.recipient }));
    expect(decryptCiphertextForRecipient(answer.CiphertextForRecipient as Uint8Array, enclave.privateKey)).toHaveLength(32);
  });

  it.each(['PCR0', 'PCR1', 'PCR2', 'PCR8'])('an enclave whose %s differs is refused with AccessDeniedException', async (which) => {
    const enclave = await enclaveRecipient(await enclaveWith({ [which]: pcr('ee') }));
    expect(await nameOf(role.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', Recipient: enclave.recipient })))).toBe(
      'AccessDeniedException',
    );
  });

  it('a debug-mode enclave of the same image is refused', async () => {
    const enclave = await enclaveRecipient(await enclaveWith({}, true));
    expect(await nameOf(role.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', Recipient: enclave.recipient })))).toBe(
      'AccessDeniedException',
    );
  });

  it('a call without Recipient is refused, from the role and from the account', async () => {
    expect(await nameOf(role.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' })))).toBe('AccessDeniedException');
    expect(await nameOf(admin.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' })))).toBe('AccessDeniedException');
  });

  it('the account manages the key but cannot use it', async () => {
    expect(await nameOf(admin.send(new DescribeKeyCommand({ KeyId: keyId })))).toBe('OK');
    expect(await nameOf(admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array(1) })))).toBe('AccessDeniedException');
    const enclave = await enclaveRecipient(await enclaveWith());
    expect(await nameOf(admin.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', Recipient: enclave.recipient })))).toBe(
      'AccessDeniedException',
    );
  });

  it('denies the enclave role every management action: the parent holding its credentials cannot take the key over', async () => {
    const policy = (await admin.send(new GetKeyPolicyCommand({ KeyId: keyId }))).Policy as string;
    expect(await nameOf(role.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: policy })))).toBe('AccessDeniedException');
    expect(await nameOf(role.send(new CreateAliasCommand({ AliasName: 'alias/hijack', TargetKeyId: keyId })))).toBe('AccessDeniedException');
    expect(await nameOf(role.send(new DisableKeyCommand({ KeyId: keyId })))).toBe('AccessDeniedException');
    expect(await nameOf(role.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 })))).toBe('AccessDeniedException');
    // The role cannot re-point an alias from the enclave's key to one it controls, either.
    await admin.send(new CreateAliasCommand({ AliasName: 'alias/enclave-app', TargetKeyId: keyId }));
    const own = (await role.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    expect(await nameOf(role.send(new UpdateAliasCommand({ AliasName: 'alias/enclave-app', TargetKeyId: own })))).toBe('AccessDeniedException');
    expect(await nameOf(admin.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: policy })))).toBe('OK');
  });

  it('--admin-arn names who manages the key; the role may never be the admin', async () => {
    const adminArn = `arn:aws:iam::${ACCOUNT}:role/key-admin`;
    const doc = JSON.parse((await runCli([...base(), '--admin-arn', adminArn])).out);
    expect(statement(doc, 'AdminManagesButDoesNotUseTheKey').Principal).toEqual({ AWS: adminArn });
    expect(statement(doc, 'EnclaveRoleNeverManagesTheKey')).toMatchObject({ Effect: 'Deny', Principal: { AWS: ROLE } });
    expect(statement(doc, 'EnclaveRoleNeverManagesTheKey').Action).toEqual(expect.arrayContaining(['kms:PutKeyPolicy', 'kms:UpdateAlias', 'kms:CreateGrant']));
    expect((await runCli([...base(), '--admin-arn', ROLE])).code).toBe(2);
    expect((await runCli([...base(), '--admin-arn', 'bob'])).code).toBe(2);
  });

  it('grants no cryptographic or grant action to the account', () => {
    const doc = enclaveKeyPolicy({ account: ACCOUNT, roleArn: ROLE, pcrs: new Map([[0, pcr('0a')]]) });
    const accountActions = doc.Statement[0]?.Action as string[];
    for (const forbidden of ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:CreateGrant', 'kms:ReEncryptFrom', 'kms:*'])
      expect(accountActions).not.toContain(forbidden);
    expect(accountActions.some((a) => a.includes('*'))).toBe(false);
  });
});

describe('nitro-datakey policy, the command', () => {
  it('pins ImageSha384 = PCR0 and PCR1, PCR2, PCR8 with StringEqualsIgnoreCase, plus extra --pcr', async () => {
    const r = await runCli([...base(), '--pcr', `4=${pcr('44').toUpperCase()}`]);
    const doc = JSON.parse(r.out);
    expect(statement(doc, 'EnclaveUsesTheKeyWithMatchingAttestation').Condition.StringEqualsIgnoreCase).toEqual({
      'kms:RecipientAttestation:ImageSha384': pcr('0a'),
      'kms:RecipientAttestation:PCR1': pcr('1b'),
      'kms:RecipientAttestation:PCR2': pcr('2c'),
      'kms:RecipientAttestation:PCR4': pcr('44'),
      'kms:RecipientAttestation:PCR8': pcr('8d'),
    });
    expect(statement(doc, 'NoCryptographicCallWithoutAttestation')).toMatchObject({
      Effect: 'Deny',
      Condition: { Null: { 'kms:RecipientAttestation:ImageSha384': 'true' } },
    });
  });

  it('prints the IAM policy for GenerateRandom, both with --json, and a subset of operations', async () => {
    const iam = JSON.parse((await runCli([...base(), '--iam-policy'])).out);
    expect(iam.Statement[0]).toMatchObject({
      Action: 'kms:GenerateRandom',
      Condition: { StringEqualsIgnoreCase: { 'kms:RecipientAttestation:ImageSha384': pcr('0a') } },
    });
    const both = JSON.parse((await runCli([...base(), '--json', '--operations', 'Decrypt'])).out);
    expect(statement(both.keyPolicy, 'EnclaveUsesTheKeyWithMatchingAttestation').Action).toEqual(['kms:Decrypt']);
    expect(both.iamPolicy.Statement).toHaveLength(1);
    expect(toHex(new Uint8Array(48).fill(0x0a))).toBe(pcr('0a'));
  });

  it('exits 2 on missing flags, bad values, unreadable or debug measurements', async () => {
    writeFileSync(join(dir, 'debug.json'), JSON.stringify({ Measurements: { PCR0: pcr('00'), PCR1: pcr('00'), PCR2: pcr('00') } }));
    writeFileSync(join(dir, 'bad.json'), '{nope');
    const cases = [
      ['policy'],
      [...base().slice(0, 3), '--account', '12', '--role-arn', ROLE],
      ['policy', '--measurements', join(dir, 'measurements.json'), '--account', ACCOUNT, '--role-arn', 'arn:aws:iam::1:user/x'],
      ['policy', '--measurements', join(dir, 'missing.json'), '--account', ACCOUNT, '--role-arn', ROLE],
      ['policy', '--measurements', join(dir, 'bad.json'), '--account', ACCOUNT, '--role-arn', ROLE],
      ['policy', '--measurements', join(dir, 'debug.json'), '--account', ACCOUNT, '--role-arn', ROLE],
      [...base(), '--pcr', '3=zz'],
      [...base(), '--operations', 'Encrypt'],
    ];
    for (const argv of cases) {
      const r = await runCli(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err.length).toBeGreaterThan(0);
    }
  });
});
