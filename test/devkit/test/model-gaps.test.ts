import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  EncryptCommand,
  ReEncryptCommand,
  ListAliasesCommand,
  ListKeyPoliciesCommand,
  RotateKeyOnDemandCommand,
  UpdateAliasCommand,
  UpdateKeyDescriptionCommand,
} from '@aws-sdk/client-kms';
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
});
