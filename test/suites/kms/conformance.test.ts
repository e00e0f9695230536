import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyPairCommand,
  GenerateDataKeyPairWithoutPlaintextCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GenerateRandomCommand,
  GetKeyPolicyCommand,
  ListAliasesCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  PutKeyPolicyCommand,
  ReEncryptCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateAliasCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptCiphertextForRecipient, type Nsm } from '@nitro-datakey/shared';
import { localKmsClient, NitroPki, SimulatedNsm, startLocalKms, type LocalKms } from '@nitro-datakey/devkit';
import { enclaveRecipient } from '../../support/index.js';

let kms: LocalKms;
let client: KMSClient;
let pki: NitroPki;
let nsm: Nsm;
let keyId: string;
let keyArn: string;

beforeAll(async () => {
  pki = await NitroPki.create();
  kms = await startLocalKms({ tls: true, trustedRootFingerprints: [pki.rootFingerprint] });
  client = localKmsClient(kms);
  nsm = await SimulatedNsm.client({ pki });
  const created = await client.send(new CreateKeyCommand({ Description: 'conformance' }));
  keyId = created.KeyMetadata?.KeyId as string;
  keyArn = created.KeyMetadata?.Arn as string;
});

afterAll(async () => {
  client?.destroy();
  await kms?.close();
});

/** The SDK's exception name and message, or 'OK'. */
async function failure(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await p;
    return { name: 'OK', message: '' };
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message };
  }
}
const nameOf = async (p: Promise<unknown>) => (await failure(p)).name;

const SIGV4_HEADER = 'AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261205/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00';

/** A raw KMS JSON call, to see exactly which fields come back. */
async function raw(
  target: string,
  body: unknown,
  init: { bodyText?: string; authorization?: string } = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const { request } = await import('node:https');
  const url = new URL(kms.endpoint);
  const payload = init.bodyText ?? JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: '/',
        ca: kms.caCertPem,
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': target,
          // The local KMS checks no signature, but like AWS it answers nothing to an unsigned request.
          ...(init.authorization === '' ? {} : { authorization: init.authorization ?? SIGV4_HEADER }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString() || '{}') }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

describe('key management through the AWS SDK', () => {
  it('CreateKey and DescribeKey by id, key ARN, alias name and alias ARN', async () => {
    await client.send(new CreateAliasCommand({ AliasName: 'alias/conformance', TargetKeyId: keyId }));
    for (const id of [keyId, keyArn, 'alias/conformance', `arn:aws:kms:${kms.region}:${kms.account}:alias/conformance`]) {
      const d = await client.send(new DescribeKeyCommand({ KeyId: id }));
      expect(d.KeyMetadata).toMatchObject({
        KeyId: keyId,
        Arn: keyArn,
        KeyState: 'Enabled',
        Enabled: true,
        KeySpec: 'SYMMETRIC_DEFAULT',
        KeyUsage: 'ENCRYPT_DECRYPT',
        Description: 'conformance',
        AWSAccountId: kms.account,
      });
      expect(d.KeyMetadata?.CreationDate).toBeInstanceOf(Date);
    }
  });

  it('ListKeys pages with a marker; ListAliases filters by key', async () => {
    for (let i = 0; i < 3; i++) await client.send(new CreateKeyCommand({}));
    const first = await client.send(new ListKeysCommand({ Limit: 2 }));
    expect(first.Keys).toHaveLength(2);
    expect(first.Truncated).toBe(true);
    const rest = await client.send(new ListKeysCommand({ Limit: 100, Marker: first.NextMarker as string }));
    expect(rest.Truncated).toBe(false);
    const all = [...(first.Keys ?? []), ...(rest.Keys ?? [])].map((k) => k.KeyId);
    expect(new Set(all).size).toBe(all.length);
    expect(all).toContain(keyId);
    expect(await nameOf(client.send(new ListKeysCommand({ Marker: 'bm9wZQ' })))).toBe('InvalidMarkerException');
    const aliases = await client.send(new ListAliasesCommand({ KeyId: keyId }));
    expect(aliases.Aliases?.map((a) => a.AliasName)).toEqual(['alias/conformance']);
    expect(aliases.Aliases?.[0]).toMatchObject({ TargetKeyId: keyId, AliasArn: `arn:aws:kms:${kms.region}:${kms.account}:alias/conformance` });
  });

  it('UpdateAlias, DeleteAlias and the alias errors', async () => {
    const other = (await client.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    await client.send(new CreateAliasCommand({ AliasName: 'alias/moving', TargetKeyId: keyId }));
    expect(await failure(client.send(new CreateAliasCommand({ AliasName: 'alias/moving', TargetKeyId: keyId })))).toMatchObject({
      name: 'AlreadyExistsException',
      message: expect.stringContaining('alias/moving already exists'),
    });
    await client.send(new UpdateAliasCommand({ AliasName: 'alias/moving', TargetKeyId: other }));
    expect((await client.send(new DescribeKeyCommand({ KeyId: 'alias/moving' }))).KeyMetadata?.KeyId).toBe(other);
    await client.send(new DeleteAliasCommand({ AliasName: 'alias/moving' }));
    expect(await failure(client.send(new DescribeKeyCommand({ KeyId: 'alias/moving' })))).toEqual({
      name: 'NotFoundException',
      message: `Alias arn:aws:kms:${kms.region}:${kms.account}:alias/moving is not found.`,
    });
    expect(await nameOf(client.send(new DeleteAliasCommand({ AliasName: 'alias/moving' })))).toBe('NotFoundException');
    expect(await nameOf(client.send(new CreateAliasCommand({ AliasName: 'alias/aws/mine', TargetKeyId: keyId })))).toBe('InvalidAliasNameException');
    expect(await nameOf(client.send(new CreateAliasCommand({ AliasName: 'noprefix', TargetKeyId: keyId })))).toBe('ValidationException');
    expect(await nameOf(client.send(new CreateAliasCommand({ AliasName: 'alias/x', TargetKeyId: 'alias/conformance' })))).toBe('ValidationException');
  });

  it('EnableKey, DisableKey, ScheduleKeyDeletion, CancelKeyDeletion and the state errors', async () => {
    const k = (await client.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    const arn = `arn:aws:kms:${kms.region}:${kms.account}:key/${k}`;
    await client.send(new DisableKeyCommand({ KeyId: k }));
    expect(await failure(client.send(new GenerateDataKeyCommand({ KeyId: k, KeySpec: 'AES_256' })))).toEqual({
      name: 'DisabledException',
      message: `${arn} is disabled.`,
    });
    await client.send(new EnableKeyCommand({ KeyId: k }));
    const scheduled = await client.send(new ScheduleKeyDeletionCommand({ KeyId: k, PendingWindowInDays: 7 }));
    expect(scheduled).toMatchObject({ KeyId: arn, KeyState: 'PendingDeletion', PendingWindowInDays: 7 });
    expect(scheduled.DeletionDate).toBeInstanceOf(Date);
    expect(await failure(client.send(new EncryptCommand({ KeyId: k, Plaintext: new Uint8Array(1) })))).toEqual({
      name: 'KMSInvalidStateException',
      message: `${arn} is pending deletion.`,
    });
    expect(await nameOf(client.send(new EnableKeyCommand({ KeyId: k })))).toBe('KMSInvalidStateException');
    expect(await nameOf(client.send(new ScheduleKeyDeletionCommand({ KeyId: k, PendingWindowInDays: 6 })))).toBe('ValidationException');
    await client.send(new CancelKeyDeletionCommand({ KeyId: k }));
    expect((await client.send(new DescribeKeyCommand({ KeyId: k }))).KeyMetadata?.KeyState).toBe('Disabled');
    expect(await nameOf(client.send(new CancelKeyDeletionCommand({ KeyId: k })))).toBe('KMSInvalidStateException');
  });

  it('GetKeyPolicy and PutKeyPolicy, refusing malformed policies', async () => {
    const policy = (await client.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' }))).Policy as string;
    expect(JSON.parse(policy).Statement[0].Principal.AWS).toBe(`arn:aws:iam::${kms.account}:root`);
    const k = (await client.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    const replacement = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:*', Resource: '*' }] });
    await client.send(new PutKeyPolicyCommand({ KeyId: k, PolicyName: 'default', Policy: replacement }));
    expect((await client.send(new GetKeyPolicyCommand({ KeyId: k }))).Policy).toBe(replacement);
    for (const bad of [
      '{not json',
      '{"Statement": []}',
      JSON.stringify({ Statement: [{ Effect: 'Maybe', Principal: '*', Action: '*' }] }),
      JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: '*', NotAction: 'kms:Decrypt' }] }),
      JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: '*', Action: '*', Condition: { NumericLessThan: { x: '1' } } }] }),
    ]) {
      expect(await nameOf(client.send(new PutKeyPolicyCommand({ KeyId: k, PolicyName: 'default', Policy: bad })))).toBe('MalformedPolicyDocumentException');
    }
    expect(await nameOf(client.send(new CreateKeyCommand({ Policy: '{' })))).toBe('MalformedPolicyDocumentException');
    expect(await nameOf(client.send(new GetKeyPolicyCommand({ KeyId: k, PolicyName: 'other' })))).toBe('NotFoundException');
    expect(await nameOf(client.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' })))).toBe('UnsupportedOperationException');
  });

  it('tags: CreateKey Tags, TagResource adds and overwrites, UntagResource removes, ListResourceTags lists; bad tags refused', async () => {
    const k = (await client.send(new CreateKeyCommand({ Tags: [{ TagKey: 'team', TagValue: 'a' }] }))).KeyMetadata?.KeyId as string;
    const list = async () => (await client.send(new ListResourceTagsCommand({ KeyId: k }))).Tags;
    expect(await list()).toEqual([{ TagKey: 'team', TagValue: 'a' }]);
    await client.send(
      new TagResourceCommand({
        KeyId: k,
        Tags: [
          { TagKey: 'team', TagValue: 'b' },
          { TagKey: 'env', TagValue: '' },
        ],
      }),
    );
    expect(await list()).toEqual([
      { TagKey: 'env', TagValue: '' },
      { TagKey: 'team', TagValue: 'b' },
    ]);
    await client.send(new UntagResourceCommand({ KeyId: k, TagKeys: ['team', 'absent'] }));
    expect(await list()).toEqual([{ TagKey: 'env', TagValue: '' }]);
    expect(await nameOf(client.send(new TagResourceCommand({ KeyId: k, Tags: [{ TagKey: 'aws:x', TagValue: 'v' }] })))).toBe('TagException');
    expect(await nameOf(client.send(new TagResourceCommand({ KeyId: k, Tags: [{ TagKey: 'x'.repeat(129), TagValue: 'v' }] })))).toBe('ValidationException');
    const many = Array.from({ length: 50 }, (_, i) => ({ TagKey: `t${i}`, TagValue: 'v' }));
    expect(await nameOf(client.send(new TagResourceCommand({ KeyId: k, Tags: many })))).toBe('LimitExceededException'); // 50 + env
    expect(await list()).toEqual([{ TagKey: 'env', TagValue: '' }]); // a refused change leaves the tags as they were
  });

  it("unknown keys: NotFoundException with AWS's messages", async () => {
    const unknown = '11111111-2222-3333-4444-555555555555';
    expect(await failure(client.send(new DescribeKeyCommand({ KeyId: unknown })))).toEqual({
      name: 'NotFoundException',
      message: `Key 'arn:aws:kms:${kms.region}:${kms.account}:key/${unknown}' does not exist`,
    });
    expect(await failure(client.send(new DescribeKeyCommand({ KeyId: 'not-a-key' })))).toEqual({
      name: 'NotFoundException',
      message: "Invalid keyId 'not-a-key'",
    });
    expect(await nameOf(client.send(new DescribeKeyCommand({ KeyId: `arn:aws:kms:eu-west-1:${kms.account}:key/${keyId}` })))).toBe('NotFoundException');
  });
});

describe('cryptographic operations through the AWS SDK', () => {
  it('Encrypt and Decrypt bind the encryption context; a wrong context or damaged blob is InvalidCiphertextException with an empty message', async () => {
    const plaintext = new Uint8Array(randomBytes(100));
    const enc = await client.send(
      new EncryptCommand({ KeyId: 'alias/conformance', Plaintext: plaintext, EncryptionContext: { purpose: 'test', tenant: 'a' } }),
    );
    expect(enc).toMatchObject({ KeyId: keyArn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
    const blob = enc.CiphertextBlob as Uint8Array;
    const dec = await client.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { tenant: 'a', purpose: 'test' } }));
    expect(dec.Plaintext).toEqual(plaintext);
    expect(dec.KeyId).toBe(keyArn);
    for (const context of [{}, { purpose: 'test' }, { purpose: 'test', tenant: 'b' }, { purpose: 'test', tenant: 'a', extra: '' }]) {
      expect(await nameOf(client.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: context })))).toBe('InvalidCiphertextException');
    }
    const damaged = blob.slice();
    damaged[damaged.length - 20] = (damaged[damaged.length - 20] as number) ^ 1;
    expect(await nameOf(client.send(new DecryptCommand({ CiphertextBlob: damaged, EncryptionContext: { purpose: 'test', tenant: 'a' } })))).toBe(
      'InvalidCiphertextException',
    );
    const foreign = await raw('TrentService.Decrypt', { CiphertextBlob: b64(randomBytes(200)) });
    expect(foreign).toEqual({ status: 400, json: { __type: 'InvalidCiphertextException', message: '' } });
  });

  it('Decrypt with the wrong KeyId is IncorrectKeyException; ReEncrypt moves a blob between keys and contexts', async () => {
    const other = (await client.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    const blob = (await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array([7]) }))).CiphertextBlob as Uint8Array;
    expect(await nameOf(client.send(new DecryptCommand({ CiphertextBlob: blob, KeyId: other })))).toBe('IncorrectKeyException');
    const re = await client.send(new ReEncryptCommand({ CiphertextBlob: blob, DestinationKeyId: other, DestinationEncryptionContext: { v: '2' } }));
    expect(re.SourceKeyId).toBe(keyArn);
    expect(re.KeyId).toContain(other);
    expect((await client.send(new DecryptCommand({ CiphertextBlob: re.CiphertextBlob as Uint8Array, EncryptionContext: { v: '2' } }))).Plaintext).toEqual(
      new Uint8Array([7]),
    );
  });

  it('GenerateDataKey by KeySpec or NumberOfBytes, and WithoutPlaintext', async () => {
    const a = await client.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
    expect(a.Plaintext).toHaveLength(32);
    expect((await client.send(new DecryptCommand({ CiphertextBlob: a.CiphertextBlob as Uint8Array }))).Plaintext).toEqual(a.Plaintext);
    expect((await client.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_128' }))).Plaintext).toHaveLength(16);
    expect((await client.send(new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: 1024 }))).Plaintext).toHaveLength(1024);
    const w = await client.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: keyId, NumberOfBytes: 24 }));
    expect((w as unknown as Record<string, unknown>)['Plaintext']).toBeUndefined();
    expect((await client.send(new DecryptCommand({ CiphertextBlob: w.CiphertextBlob as Uint8Array }))).Plaintext).toHaveLength(24);
  });

  it('GenerateDataKeyPair for every KeyPairSpec but SM2; WithoutPlaintext', async () => {
    for (const spec of ['RSA_2048', 'RSA_3072', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1', 'ECC_NIST_EDWARDS25519'] as const) {
      const pair = await client.send(new GenerateDataKeyPairCommand({ KeyId: keyId, KeyPairSpec: spec }));
      const privateKey = createPrivateKey({ key: Buffer.from(pair.PrivateKeyPlaintext as Uint8Array), format: 'der', type: 'pkcs8' });
      expect(
        createPublicKey(privateKey)
          .export({ format: 'der', type: 'spki' })
          .equals(Buffer.from(pair.PublicKey as Uint8Array)),
      ).toBe(true);
      const sealed = await client.send(new DecryptCommand({ CiphertextBlob: pair.PrivateKeyCiphertextBlob as Uint8Array }));
      expect(sealed.Plaintext).toEqual(pair.PrivateKeyPlaintext);
      expect(pair.KeyPairSpec).toBe(spec);
    }
    expect(await failure(client.send(new GenerateDataKeyPairCommand({ KeyId: keyId, KeyPairSpec: 'SM2' })))).toMatchObject({
      name: 'UnsupportedOperationException',
      message: expect.stringContaining('China'),
    });
    const w = await client.send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: keyId, KeyPairSpec: 'ECC_NIST_P256' }));
    expect((w as unknown as Record<string, unknown>)['PrivateKeyPlaintext']).toBeUndefined();
    expect(w.PublicKey).toBeDefined();
  }, 120_000);

  it('GenerateRandom', async () => {
    expect((await client.send(new GenerateRandomCommand({ NumberOfBytes: 64 }))).Plaintext).toHaveLength(64);
  });

  it('DryRun: DryRunOperationException when the call would succeed, the real error when not', async () => {
    expect(await failure(client.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', DryRun: true })))).toEqual({
      name: 'DryRunOperationException',
      message: 'The request would have succeeded, but the DryRun option is set.',
    });
    expect(await nameOf(client.send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array(1), DryRun: true })))).toBe('DryRunOperationException');
    const blob = (await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array(1) }))).CiphertextBlob as Uint8Array;
    expect(await nameOf(client.send(new DecryptCommand({ CiphertextBlob: blob, DryRun: true })))).toBe('DryRunOperationException');
    const k = (await client.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    await client.send(new DisableKeyCommand({ KeyId: k }));
    expect(await nameOf(client.send(new GenerateDataKeyCommand({ KeyId: k, KeySpec: 'AES_256', DryRun: true })))).toBe('DisabledException');
  });

  it('DryRun with IGNORE_CIPHERTEXT checks the named key only; it needs a KeyId and refuses other modifiers', async () => {
    const junk = new Uint8Array(32).fill(7); // not a blob of ours: without the modifier this is InvalidCiphertextException
    expect(await nameOf(client.send(new DecryptCommand({ CiphertextBlob: junk, DryRun: true })))).toBe('InvalidCiphertextException');
    expect(await nameOf(client.send(new DecryptCommand({ CiphertextBlob: junk, KeyId: keyId, DryRun: true, DryRunModifiers: ['IGNORE_CIPHERTEXT'] })))).toBe(
      'DryRunOperationException',
    );
    expect(await nameOf(client.send(new DecryptCommand({ CiphertextBlob: junk, DryRun: true, DryRunModifiers: ['IGNORE_CIPHERTEXT'] })))).toBe(
      'ValidationException',
    );
    const k = (await client.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    await client.send(new DisableKeyCommand({ KeyId: k }));
    expect(await nameOf(client.send(new DecryptCommand({ CiphertextBlob: junk, KeyId: k, DryRun: true, DryRunModifiers: ['IGNORE_CIPHERTEXT'] })))).toBe(
      'DisabledException',
    );
    const bad = await raw('TrentService.Decrypt', { CiphertextBlob: 'AAAA', DryRun: true, DryRunModifiers: ['IGNORE_PLAINTEXT'] });
    expect(bad).toMatchObject({ status: 400, json: { __type: 'ValidationException', message: expect.stringContaining("'dryRunModifiers'") } });
  });

  it('KeyMaterialId: 64 hex on symmetric responses, the same for a blob and its decryption, new after a rotation', async () => {
    const k = (await client.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    const first = await client.send(new GenerateDataKeyCommand({ KeyId: k, KeySpec: 'AES_256' }));
    expect(first.KeyMaterialId).toMatch(/^[a-f0-9]{64}$/);
    const without = await client.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: k, KeySpec: 'AES_256' }));
    expect(without.KeyMaterialId).toBe(first.KeyMaterialId);
    const pair = await client.send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: k, KeyPairSpec: 'ECC_NIST_P256' }));
    expect(pair.KeyMaterialId).toBe(first.KeyMaterialId);
    await client.send(new RotateKeyOnDemandCommand({ KeyId: k }));
    const second = await client.send(new GenerateDataKeyCommand({ KeyId: k, KeySpec: 'AES_256' }));
    expect(second.KeyMaterialId).toMatch(/^[a-f0-9]{64}$/);
    expect(second.KeyMaterialId).not.toBe(first.KeyMaterialId);
    // Decrypt reports the material that sealed the blob, not the newest.
    expect((await client.send(new DecryptCommand({ CiphertextBlob: first.CiphertextBlob as Uint8Array }))).KeyMaterialId).toBe(first.KeyMaterialId);
    expect((await client.send(new DecryptCommand({ CiphertextBlob: second.CiphertextBlob as Uint8Array }))).KeyMaterialId).toBe(second.KeyMaterialId);
    const other = (await client.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    expect((await client.send(new GenerateDataKeyCommand({ KeyId: other, KeySpec: 'AES_256' }))).KeyMaterialId).not.toBe(first.KeyMaterialId);
  });

  it('Decrypt names the algorithm: SYMMETRIC_DEFAULT works, an RSA algorithm is the wrong kind of key', async () => {
    const blob = (await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array([1, 2]) }))).CiphertextBlob as Uint8Array;
    const ok = await client.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' }));
    expect(ok.Plaintext).toEqual(new Uint8Array([1, 2]));
    expect(await nameOf(client.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })))).toBe('InvalidKeyUsageException');
    const unknownAlgorithm = await raw('TrentService.Decrypt', { CiphertextBlob: Buffer.from(blob).toString('base64'), EncryptionAlgorithm: 'AES_GCM' });
    expect(unknownAlgorithm).toMatchObject({ status: 400, json: { __type: 'ValidationException' } });
  });
});

describe("validation, before key lookup, in AWS's words", () => {
  const unknown = '99999999-9999-9999-9999-999999999999';
  it.each([
    [
      'NumberOfBytes 1025',
      { NumberOfBytes: 1025 },
      "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024",
    ],
    [
      'NumberOfBytes 0',
      { NumberOfBytes: 0 },
      "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1",
    ],
    ['both KeySpec and NumberOfBytes', { KeySpec: 'AES_256', NumberOfBytes: 32 }, 'Please specify either number of bytes or key spec.'],
    ['neither KeySpec nor NumberOfBytes', {}, 'Please specify either number of bytes or key spec.'],
    [
      '11 grant tokens',
      { KeySpec: 'AES_256', GrantTokens: Array.from({ length: 11 }, (_, i) => `t${i}`) },
      expect.stringContaining("at 'grantTokens' failed to satisfy constraint: Member must have length less than or equal to 10"),
    ],
    [
      'an empty grant token',
      { KeySpec: 'AES_256', GrantTokens: [''] },
      "1 validation error detected: Value at 'grantTokens.1.member' failed to satisfy constraint: Member must have length between 1 and 8192",
    ],
    [
      'a grant token of 8193 characters',
      { KeySpec: 'AES_256', GrantTokens: ['t', 'x'.repeat(8193)] },
      "1 validation error detected: Value at 'grantTokens.2.member' failed to satisfy constraint: Member must have length between 1 and 8192",
    ],
    [
      'an unknown KeySpec',
      { KeySpec: 'AES_512' },
      expect.stringContaining("Value 'AES_512' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set"),
    ],
  ])('GenerateDataKey with %s', async (_n, extra, message) => {
    expect(await raw('TrentService.GenerateDataKey', { KeyId: unknown, ...extra })).toEqual({ status: 400, json: { __type: 'ValidationException', message } });
  });

  it('Encrypt plaintext over 4096 bytes, a KeyId over 2048 characters, a ciphertext over 6144 bytes', async () => {
    expect(await failure(client.send(new EncryptCommand({ KeyId: unknown, Plaintext: new Uint8Array(4097) })))).toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining("at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096"),
    });
    expect(await failure(client.send(new DescribeKeyCommand({ KeyId: 'a'.repeat(2049) })))).toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining("at 'keyId'"),
    });
    expect(await nameOf(client.send(new DecryptCommand({ CiphertextBlob: new Uint8Array(6145) })))).toBe('ValidationException');
    expect(await nameOf(client.send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array(0) })))).toBe('ValidationException');
  });

  it('an unsigned request is MissingAuthenticationTokenException and one without a Credential IncompleteSignatureException, before anything else', async () => {
    expect(await raw('TrentService.GenerateRandom', { NumberOfBytes: 8 }, { authorization: '' })).toEqual({
      status: 400,
      json: { __type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' },
    });
    expect(await raw('TrentService.Frobnicate', {}, { authorization: '' })).toMatchObject({ json: { __type: 'MissingAuthenticationTokenException' } });
    expect(await raw('TrentService.GenerateRandom', { NumberOfBytes: 8 }, { authorization: 'AWS4-HMAC-SHA256 Signature=00' })).toMatchObject({
      status: 400,
      json: { __type: 'IncompleteSignatureException' },
    });
    expect((await raw('TrentService.GenerateRandom', { NumberOfBytes: 8 })).status).toBe(200);
  });

  it('unknown targets, bad JSON, wrong methods and oversized bodies get errors, not hangs', async () => {
    expect(await raw('TrentService.Frobnicate', {})).toEqual({ status: 400, json: { __type: 'UnknownOperationException', message: '' } });
    expect(await raw('OtherService.Encrypt', {})).toMatchObject({ status: 400, json: { __type: 'UnknownOperationException' } });
    expect(await raw('TrentService.Encrypt', null, { bodyText: '{"KeyId": ' })).toMatchObject({ status: 400, json: { __type: 'SerializationException' } });
    expect(await raw('TrentService.Encrypt', null, { bodyText: '[1,2]' })).toMatchObject({ status: 400, json: { __type: 'SerializationException' } });
    expect(await raw('TrentService.Encrypt', { KeyId: keyId, Plaintext: 12 })).toMatchObject({ status: 400, json: { __type: 'SerializationException' } });
    expect(await raw('TrentService.Encrypt', null, { bodyText: `{"KeyId": "${'x'.repeat(1024 * 1024 + 10)}"}` })).toMatchObject({
      status: 400,
      json: { __type: 'SerializationException' },
    });
  });
});

describe('attested calls (Recipient)', () => {
  it('GenerateDataKey answers with CiphertextForRecipient that opens with the enclave key, and no plaintext field at all', async () => {
    const enclave = await enclaveRecipient(nsm);
    const sdk = await client.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', Recipient: enclave.recipient }));
    expect(sdk.Plaintext).toBeUndefined();
    expect(sdk.KeyMaterialId).toBeUndefined(); // AWS omits it when the request has a Recipient
    const dataKey = decryptCiphertextForRecipient(sdk.CiphertextForRecipient as Uint8Array, enclave.privateKey);
    expect(dataKey).toHaveLength(32);
    expect((await client.send(new DecryptCommand({ CiphertextBlob: sdk.CiphertextBlob as Uint8Array }))).Plaintext).toEqual(dataKey);
    const wire = await raw('TrentService.GenerateDataKey', {
      KeyId: keyId,
      NumberOfBytes: 16,
      Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: b64(enclave.recipient.AttestationDocument) },
    });
    expect(wire.status).toBe(200);
    expect(Object.keys(wire.json).sort()).toEqual(['CiphertextBlob', 'CiphertextForRecipient', 'KeyId']);
  });

  it('Decrypt, GenerateDataKeyPair and GenerateRandom with Recipient', async () => {
    const enclave = await enclaveRecipient(nsm);
    const secret = new Uint8Array(randomBytes(48));
    const blob = (await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: secret, EncryptionContext: { app: 'x' } }))).CiphertextBlob as Uint8Array;
    const dec = await client.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { app: 'x' }, Recipient: enclave.recipient }));
    expect(dec.Plaintext).toBeUndefined();
    expect(decryptCiphertextForRecipient(dec.CiphertextForRecipient as Uint8Array, enclave.privateKey)).toEqual(secret);

    const pair = await client.send(new GenerateDataKeyPairCommand({ KeyId: keyId, KeyPairSpec: 'ECC_NIST_P256', Recipient: enclave.recipient }));
    expect(pair.PrivateKeyPlaintext).toBeUndefined();
    const pkcs8 = decryptCiphertextForRecipient(pair.CiphertextForRecipient as Uint8Array, enclave.privateKey);
    const derived = createPublicKey(createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' });
    expect(derived.equals(Buffer.from(pair.PublicKey as Uint8Array))).toBe(true);

    const random = await client.send(new GenerateRandomCommand({ NumberOfBytes: 32, Recipient: enclave.recipient }));
    expect(random.Plaintext).toBeUndefined();
    expect(decryptCiphertextForRecipient(random.CiphertextForRecipient as Uint8Array, enclave.privateKey)).toHaveLength(32);
    const wire = await raw('TrentService.Decrypt', {
      CiphertextBlob: b64(blob),
      EncryptionContext: { app: 'x' },
      Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: b64(enclave.recipient.AttestationDocument) },
    });
    expect(Object.keys(wire.json).sort()).toEqual(['CiphertextForRecipient', 'EncryptionAlgorithm', 'KeyId']);
  });

  it('refuses a document that does not verify, has no public key, or carries a non-RSA or short key', async () => {
    const foreign = await SimulatedNsm.client({ pki: await NitroPki.create() });
    const untrusted = await enclaveRecipient(foreign);
    expect(await failure(client.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', Recipient: untrusted.recipient })))).toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('ERR_ATTESTATION_CHAIN'),
    });
    const noKey = await nsm.attest({ nonce: new Uint8Array(8) });
    expect(
      await failure(
        client.send(
          new GenerateDataKeyCommand({
            KeyId: keyId,
            KeySpec: 'AES_256',
            Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: noKey },
          }),
        ),
      ),
    ).toMatchObject({ name: 'ValidationException', message: expect.stringContaining('does not contain a public key') });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ecDoc = await nsm.attest({ publicKey: new Uint8Array(ec.publicKey.export({ format: 'der', type: 'spki' })) });
    expect(
      await failure(
        client.send(
          new GenerateDataKeyCommand({
            KeyId: keyId,
            KeySpec: 'AES_256',
            Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: ecDoc },
          }),
        ),
      ),
    ).toMatchObject({ name: 'ValidationException', message: expect.stringContaining('RSA key of 2048 to 4096 bits') });
    const short = await enclaveRecipient(nsm, { modulusLength: 1024 });
    expect(await nameOf(client.send(new GenerateRandomCommand({ NumberOfBytes: 8, Recipient: short.recipient })))).toBe('ValidationException');
    const enclave = await enclaveRecipient(nsm);
    const wrongAlg = await raw('TrentService.GenerateDataKey', {
      KeyId: keyId,
      KeySpec: 'AES_256',
      Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_1', AttestationDocument: b64(enclave.recipient.AttestationDocument) },
    });
    expect(wrongAlg.json['__type']).toBe('ValidationException');
  });

  it('other operations ignore Recipient, as AWS does', async () => {
    const enclave = await enclaveRecipient(nsm);
    const wire = await raw('TrentService.Encrypt', {
      KeyId: keyId,
      Plaintext: b64(new Uint8Array([1])),
      Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: b64(enclave.recipient.AttestationDocument) },
    });
    expect(wire.status).toBe(200);
    expect(wire.json['CiphertextBlob']).toBeDefined();
  });
});

describe('recipient keys KMS would never encrypt to', () => {
  it('refuses an RSA key with e = 1 (identity "encryption"), an even or a small exponent', async () => {
    const { n } = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
    for (const [e, label] of [
      ['AQ', 'e = 1'],
      ['Aw', 'e = 3'],
      ['BA', 'e = 4'],
      ['AQAA', 'e = 65536'],
    ] as const) {
      const spki = new Uint8Array(createPublicKey({ key: { kty: 'RSA', n: n as string, e }, format: 'jwk' }).export({ format: 'der', type: 'spki' }));
      const document = await nsm.attest({ publicKey: spki, nonce: new Uint8Array(16) });
      const error = await failure(
        client.send(
          new GenerateDataKeyCommand({
            KeyId: keyId,
            KeySpec: 'AES_256',
            Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: document },
          }),
        ),
      );
      expect(error.name, label).toBe('ValidationException');
      expect(error.message, label).toMatch(/odd public exponent of at least 65537/);
    }
  });

  it('with recipientRsa2048Only, an RSA-3072 key (accepted by default) is refused and RSA-2048 still works', async () => {
    const strict = await startLocalKms({ trustedRootFingerprints: [pki.rootFingerprint], recipientRsa2048Only: true });
    const strictClient = localKmsClient(strict);
    try {
      const k = (await strictClient.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
      const big = await enclaveRecipient(nsm, { modulusLength: 3072 });
      const ask = (recipient: typeof big.recipient) => new GenerateDataKeyCommand({ KeyId: k, KeySpec: 'AES_256', Recipient: recipient });
      expect(await failure(strictClient.send(ask(big.recipient)))).toMatchObject({ name: 'ValidationException', message: expect.stringContaining('RSA-2048') });
      const bigDefault = await client.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', Recipient: big.recipient }));
      expect(decryptCiphertextForRecipient(bigDefault.CiphertextForRecipient as Uint8Array, big.privateKey)).toHaveLength(32);
      const small = await enclaveRecipient(nsm);
      const ok = await strictClient.send(ask(small.recipient));
      expect(decryptCiphertextForRecipient(ok.CiphertextForRecipient as Uint8Array, small.privateKey)).toHaveLength(32);
    } finally {
      strictClient.destroy();
      await strict.close();
    }
  });
});
