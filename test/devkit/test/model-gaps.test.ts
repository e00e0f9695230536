import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
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
});
