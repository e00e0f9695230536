import {
  CreateKeyCommand,
  DecryptCommand,
  DisableKeyRotationCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GetKeyRotationStatusCommand,
  ListKeyRotationsCommand,
  RotateKeyOnDemandCommand,
} from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { localKmsClient, startLocalKms } from '@nitro-datakey/devkit';
import { spawnLocalKms } from '../../support/index.js';
import { scratchDir } from '../../support/scratch.js';

/** The key-material version a blob of ours names (header: "NDKB", 2, id length, id, version). */
const materialVersion = (blob: Uint8Array) => Buffer.from(blob).readUInt16BE(6 + (blob[5] as number));

describe('key rotation in the local KMS', () => {
  it('on demand: new ciphertexts use the newest material, every earlier one still decrypts', async () => {
    const kms = await startLocalKms();
    const client = localKmsClient(kms);
    try {
      const keyId = (await client.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
      const before = (await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array([1]) }))).CiphertextBlob as Uint8Array;
      const dataKey = await client.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: { a: 'b' } }));
      expect(materialVersion(before)).toBe(0);
      await client.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
      const middle = (await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array([2]) }))).CiphertextBlob as Uint8Array;
      await client.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
      const after = (await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array([3]) }))).CiphertextBlob as Uint8Array;
      expect([materialVersion(middle), materialVersion(after)]).toEqual([1, 2]);
      for (const [blob, value] of [
        [before, 1],
        [middle, 2],
        [after, 3],
      ] as const) {
        expect((await client.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext).toEqual(new Uint8Array([value]));
      }
      const back = await client.send(new DecryptCommand({ CiphertextBlob: dataKey.CiphertextBlob, EncryptionContext: { a: 'b' } }));
      expect(back.Plaintext).toEqual(dataKey.Plaintext);
      const rotations = (await client.send(new ListKeyRotationsCommand({ KeyId: keyId }))).Rotations ?? [];
      expect(rotations.map((r) => r.RotationType)).toEqual(['ON_DEMAND', 'ON_DEMAND']);
    } finally {
      client.destroy();
      await kms.close();
    }
  });

  it('EnableKeyRotation / GetKeyRotationStatus / DisableKeyRotation, validated as AWS does', async () => {
    const kms = await startLocalKms();
    const client = localKmsClient(kms);
    try {
      const keyId = (await client.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
      expect((await client.send(new GetKeyRotationStatusCommand({ KeyId: keyId }))).KeyRotationEnabled).toBe(false);
      await client.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 90 }));
      const status = await client.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
      expect(status).toMatchObject({ KeyRotationEnabled: true, RotationPeriodInDays: 90 });
      expect(status.NextRotationDate).toBeInstanceOf(Date);
      await client.send(new DisableKeyRotationCommand({ KeyId: keyId }));
      expect((await client.send(new GetKeyRotationStatusCommand({ KeyId: keyId }))).KeyRotationEnabled).toBe(false);
      const tooShort = await client.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 30 })).catch((e: Error) => e);
      expect((tooShort as Error).name).toBe('ValidationException');
      const agreement = (await client.send(new CreateKeyCommand({ KeyUsage: 'KEY_AGREEMENT', KeySpec: 'ECC_NIST_P256' }))).KeyMetadata?.KeyId as string;
      const refused = await client.send(new RotateKeyOnDemandCommand({ KeyId: agreement })).catch((e: Error) => e);
      expect((refused as Error).name).toBe('UnsupportedOperationException');
    } finally {
      client.destroy();
      await kms.close();
    }
  });

  it('survives kill -9: acknowledged rotations and the ciphertexts made after them are all there', async () => {
    const dir = scratchDir('ndk-rotate-crash-');
    const first = await spawnLocalKms(['--data-dir', dir, '--quiet']);
    const client = localKmsClient(first.ready);
    const keyId = (await client.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    const acked: Array<[Uint8Array, number]> = [];
    let rotations = 0;
    for (let i = 0; i < 12; i++) {
      acked.push([(await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array([i]) }))).CiphertextBlob as Uint8Array, i]);
      await client.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
      rotations++;
    }
    // One more rotation in flight when the process dies: it may or may not have landed, never half.
    void client.send(new RotateKeyOnDemandCommand({ KeyId: keyId })).catch(() => undefined);
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    client.destroy();
    const second = await spawnLocalKms(['--data-dir', dir, '--quiet']);
    const again = localKmsClient(second.ready);
    try {
      for (const [blob, value] of acked) expect((await again.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext).toEqual(new Uint8Array([value]));
      const listed = (await again.send(new ListKeyRotationsCommand({ KeyId: keyId }))).Rotations ?? [];
      expect(listed.length === rotations || listed.length === rotations + 1).toBe(true);
    } finally {
      again.destroy();
      second.child.kill('SIGTERM');
    }
  });
});
