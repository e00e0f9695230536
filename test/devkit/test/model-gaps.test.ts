import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  CreateGrantCommand,
  EncryptCommand,
  GenerateMacCommand,
  ListGrantsCommand,
  SignCommand,
  VerifyCommand,
  VerifyMacCommand,
  GenerateRandomCommand,
  ReEncryptCommand,
  ListAliasesCommand,
  GetKeyPolicyCommand,
  ListKeyPoliciesCommand,
  ListKeyRotationsCommand,
  ListResourceTagsCommand,
  PutKeyPolicyCommand,
  RotateKeyOnDemandCommand,
  UpdateAliasCommand,
  UpdateKeyDescriptionCommand,
} from '@aws-sdk/client-kms';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localKmsClient, startLocalKms } from '@nitro-datakey/devkit';

/** Members and operations of AWS's KMS model the local KMS serves as AWS does (issue 22's smaller gaps). */
describe('the local KMS model', () => {
  it('UpdateKeyDescription, ListKeyPolicies, KeyMetadata.CurrentKeyMaterialId (changes on rotation), AliasListEntry.LastUpdatedDate', async () => {
    let now = Date.parse('2026-12-01T00:00:00Z');
    const kms = await startLocalKms({ clock: () => new Date(now) });
    const client = localKmsClient(kms);
    try {
      const keyId = (await client.send(new CreateKeyCommand({ Description: 'before' }))).KeyMetadata?.KeyId as string;
      await client.send(new UpdateKeyDescriptionCommand({ KeyId: keyId, Description: 'after' }));
      const described = (await client.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
      expect(described?.Description).toBe('after');
      expect(described?.CurrentKeyMaterialId).toMatch(/^[0-9a-f]{64}$/);
      await client.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
      const rotated = (await client.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.CurrentKeyMaterialId;
      expect(rotated).toMatch(/^[0-9a-f]{64}$/);
      expect(rotated).not.toBe(described?.CurrentKeyMaterialId);
      expect(await client.send(new ListKeyPoliciesCommand({ KeyId: keyId }))).toMatchObject({ PolicyNames: ['default'], Truncated: false });
      await expect(client.send(new UpdateKeyDescriptionCommand({ KeyId: keyId, Description: 'x'.repeat(8193) }))).rejects.toMatchObject({
        name: 'ValidationException',
      });

      await client.send(new CreateAliasCommand({ AliasName: 'alias/app', TargetKeyId: keyId }));
      const other = (await client.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
      now += 60_000;
      await client.send(new UpdateAliasCommand({ AliasName: 'alias/app', TargetKeyId: other }));
      const entry = (await client.send(new ListAliasesCommand({}))).Aliases?.find((a) => a.AliasName === 'alias/app');
      expect(entry?.CreationDate?.toISOString()).toBe('2026-12-01T00:00:00.000Z');
      expect(entry?.LastUpdatedDate?.toISOString()).toBe('2026-12-01T00:01:00.000Z');
    } finally {
      client.destroy();
      await kms.close();
    }
  });

  it('ReEncrypt: its algorithm members checked, DryRun with IGNORE_CIPHERTEXT asks only for the permissions, the key material ids answered', async () => {
    const kms = await startLocalKms();
    const client = localKmsClient(kms);
    try {
      const from = (await client.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
      const to = (await client.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
      const blob = (await client.send(new EncryptCommand({ KeyId: from, Plaintext: new Uint8Array([5]) }))).CiphertextBlob as Uint8Array;
      const answer = await client.send(new ReEncryptCommand({ CiphertextBlob: blob, DestinationKeyId: to }));
      expect(answer.SourceKeyMaterialId).toMatch(/^[0-9a-f]{64}$/);
      expect(answer.DestinationKeyMaterialId).toBe((await client.send(new DescribeKeyCommand({ KeyId: to }))).KeyMetadata?.CurrentKeyMaterialId);
      await expect(
        client.send(new ReEncryptCommand({ CiphertextBlob: blob, DestinationKeyId: to, DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })),
      ).rejects.toMatchObject({
        name: 'InvalidKeyUsageException',
      });
      await expect(
        client.send(new ReEncryptCommand({ CiphertextBlob: blob, DestinationKeyId: to, SourceEncryptionAlgorithm: 'NOPE' as never })),
      ).rejects.toMatchObject({
        name: 'ValidationException',
      });
      // The blob is garbage and is never read: the answer is about the permissions only.
      const garbage = new Uint8Array(64);
      await expect(
        client.send(
          new ReEncryptCommand({ CiphertextBlob: garbage, SourceKeyId: from, DestinationKeyId: to, DryRun: true, DryRunModifiers: ['IGNORE_CIPHERTEXT'] }),
        ),
      ).rejects.toMatchObject({ name: 'DryRunOperationException' });
      await expect(
        client.send(new ReEncryptCommand({ CiphertextBlob: garbage, DestinationKeyId: to, DryRun: true, DryRunModifiers: ['IGNORE_CIPHERTEXT'] })),
      ).rejects.toMatchObject({ name: 'ValidationException' });
    } finally {
      client.destroy();
      await kms.close();
    }
  });

  it('checks what it used to ignore: GrantTokens on DescribeKey, Limit and Marker on ListResourceTags, the PolicyName and Policy patterns, \
CustomKeyStoreId and XksKeyId', async () => {
    const kms = await startLocalKms();
    const client = localKmsClient(kms);
    try {
      const keyId = (await client.send(new CreateKeyCommand({ Tags: ['a', 'b', 'c'].map((k) => ({ TagKey: k, TagValue: k })) }))).KeyMetadata?.KeyId as string;
      await expect(client.send(new DescribeKeyCommand({ KeyId: keyId, GrantTokens: [''] }))).rejects.toMatchObject({ name: 'ValidationException' });
      const first = await client.send(new ListResourceTagsCommand({ KeyId: keyId, Limit: 2 }));
      expect(first.Tags?.map((t) => t.TagKey)).toEqual(['a', 'b']);
      expect(first.Truncated).toBe(true);
      const rest = await client.send(new ListResourceTagsCommand({ KeyId: keyId, Limit: 2, Marker: first.NextMarker as string }));
      expect(rest).toMatchObject({ Tags: [{ TagKey: 'c', TagValue: 'c' }], Truncated: false });
      await expect(client.send(new ListResourceTagsCommand({ KeyId: keyId, Limit: 51 }))).rejects.toMatchObject({ name: 'ValidationException' });
      await expect(client.send(new ListResourceTagsCommand({ KeyId: keyId, Marker: 'bm9wZQ' }))).rejects.toMatchObject({ name: 'InvalidMarkerException' });
      await expect(client.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'not-a-word' }))).rejects.toMatchObject({
        name: 'ValidationException',
        message: expect.stringContaining("at 'policyName'"),
      });
      const policy = JSON.stringify({
        Statement: [{ Sid: 'r\u00e9sum\u00e9 \u2713', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'kms:*', Resource: '*' }],
      });
      await expect(client.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: policy }))).rejects.toMatchObject({
        name: 'ValidationException',
        message: expect.stringContaining("at 'policy'"),
      });
      // Latin-1 alone (é) is within the pattern.
      await client.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: policy.replace(' \u2713', '') }));
      await expect(client.send(new CreateKeyCommand({ CustomKeyStoreId: 'cks-1234567890abcdef0' }))).rejects.toMatchObject({
        name: 'CustomKeyStoreNotFoundException',
      });
      await expect(client.send(new CreateKeyCommand({ XksKeyId: 'ext-key-1' }))).rejects.toMatchObject({ name: 'ValidationException' });
      await expect(client.send(new GenerateRandomCommand({ NumberOfBytes: 8, CustomKeyStoreId: 'cks-1234567890abcdef0' }))).rejects.toMatchObject({
        name: 'CustomKeyStoreNotFoundException',
      });
    } finally {
      client.destroy();
      await kms.close();
    }
  });

  it('ListKeyRotations entries carry KeyMaterialId and KeyMaterialState; ALL_KEY_MATERIAL lists the first material too', async () => {
    const kms = await startLocalKms();
    const client = localKmsClient(kms);
    try {
      const keyId = (await client.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
      const firstMaterial = (await client.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.CurrentKeyMaterialId;
      await client.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
      const current = (await client.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.CurrentKeyMaterialId;
      const rotations = (await client.send(new ListKeyRotationsCommand({ KeyId: keyId }))).Rotations ?? [];
      expect(rotations).toHaveLength(1);
      expect(rotations[0]).toMatchObject({ KeyMaterialId: current, KeyMaterialState: 'CURRENT', RotationType: 'ON_DEMAND' });
      const all = (await client.send(new ListKeyRotationsCommand({ KeyId: keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }))).Rotations ?? [];
      expect(all.map((r) => [r.KeyMaterialId, r.KeyMaterialState])).toEqual([
        [firstMaterial, 'NON_CURRENT'],
        [current, 'CURRENT'],
      ]);
      expect(all[0]?.RotationDate).toBeUndefined();
    } finally {
      client.destroy();
      await kms.close();
    }
  });

  it('signing keys, HMAC keys and grants persist like the rest: after a restart on the same data directory they verify and allow as before', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ndk-persist-'));
    const message = new TextEncoder().encode('release');
    try {
      const first = await startLocalKms({ dataDir });
      const c1 = localKmsClient(first);
      const signer = (await c1.send(new CreateKeyCommand({ KeyUsage: 'SIGN_VERIFY', KeySpec: 'ECC_NIST_P256' }))).KeyMetadata?.KeyId as string;
      const signature = (await c1.send(new SignCommand({ KeyId: signer, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }))).Signature as Uint8Array;
      const hmac = (await c1.send(new CreateKeyCommand({ KeyUsage: 'GENERATE_VERIFY_MAC', KeySpec: 'HMAC_256' }))).KeyMetadata?.KeyId as string;
      const mac = (await c1.send(new GenerateMacCommand({ KeyId: hmac, Message: message, MacAlgorithm: 'HMAC_SHA_256' }))).Mac as Uint8Array;
      const grantee = 'arn:aws:iam::111122223333:role/reader';
      await c1.send(new CreateGrantCommand({ KeyId: signer, GranteePrincipal: grantee, Operations: ['Verify'] }));
      c1.destroy();
      await first.close();

      const second = await startLocalKms({ dataDir });
      const c2 = localKmsClient(second);
      try {
        expect(
          (await c2.send(new VerifyCommand({ KeyId: signer, Message: message, Signature: signature, SigningAlgorithm: 'ECDSA_SHA_256' }))).SignatureValid,
        ).toBe(true);
        expect((await c2.send(new VerifyMacCommand({ KeyId: hmac, Message: message, Mac: mac, MacAlgorithm: 'HMAC_SHA_256' }))).MacValid).toBe(true);
        expect((await c2.send(new ListGrantsCommand({ KeyId: signer }))).Grants?.map((g) => g.GranteePrincipal)).toEqual([grantee]);
      } finally {
        c2.destroy();
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
