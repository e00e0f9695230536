import { CreateKeyCommand, DescribeKeyCommand, GenerateMacCommand, type KeySpec, type MacAlgorithmSpec, VerifyMacCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalKms, localKmsClient, startLocalKms } from '@nitro-datakey/devkit';

/** GenerateMac and VerifyMac with HMAC keys (KMS Developer Guide "HMAC keys in AWS KMS"). */
let kms: LocalKms;
let client: ReturnType<typeof localKmsClient>;
beforeAll(async () => {
  kms = await startLocalKms();
  client = localKmsClient(kms);
});
afterAll(async () => {
  client?.destroy();
  await kms?.close();
});
const message = new TextEncoder().encode('token payload');

describe('GenerateMac and VerifyMac', () => {
  it.each([
    ['HMAC_224', 'HMAC_SHA_224', 28],
    ['HMAC_256', 'HMAC_SHA_256', 32],
    ['HMAC_384', 'HMAC_SHA_384', 48],
    ['HMAC_512', 'HMAC_SHA_512', 64],
  ] as const)(
    '%s: a MAC of the hash length, the same for the same message, verified; a changed one is KMSInvalidMacException',
    async (spec, algorithm, length) => {
      const keyId = (await client.send(new CreateKeyCommand({ KeyUsage: 'GENERATE_VERIFY_MAC', KeySpec: spec as KeySpec }))).KeyMetadata?.KeyId as string;
      expect((await client.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.MacAlgorithms).toEqual([algorithm]);
      const mac = (await client.send(new GenerateMacCommand({ KeyId: keyId, Message: message, MacAlgorithm: algorithm as MacAlgorithmSpec })))
        .Mac as Uint8Array;
      expect(mac).toHaveLength(length);
      const again = (await client.send(new GenerateMacCommand({ KeyId: keyId, Message: message, MacAlgorithm: algorithm as MacAlgorithmSpec })))
        .Mac as Uint8Array;
      expect(Buffer.from(again).equals(Buffer.from(mac))).toBe(true);
      expect(
        (await client.send(new VerifyMacCommand({ KeyId: keyId, Message: message, Mac: mac, MacAlgorithm: algorithm as MacAlgorithmSpec }))).MacValid,
      ).toBe(true);
      const changed = mac.map((b, i) => (i === 0 ? b ^ 1 : b));
      await expect(
        client.send(new VerifyMacCommand({ KeyId: keyId, Message: message, Mac: changed, MacAlgorithm: algorithm as MacAlgorithmSpec })),
      ).rejects.toMatchObject({
        name: 'KMSInvalidMacException',
      });
    },
  );

  it("refuses another spec's algorithm, and a MAC key without a spec", async () => {
    const keyId = (await client.send(new CreateKeyCommand({ KeyUsage: 'GENERATE_VERIFY_MAC', KeySpec: 'HMAC_256' }))).KeyMetadata?.KeyId as string;
    await expect(client.send(new GenerateMacCommand({ KeyId: keyId, Message: message, MacAlgorithm: 'HMAC_SHA_512' }))).rejects.toMatchObject({
      name: 'InvalidKeyUsageException',
    });
    await expect(client.send(new CreateKeyCommand({ KeyUsage: 'GENERATE_VERIFY_MAC' }))).rejects.toMatchObject({ name: 'ValidationException' });
  });
});
