import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  GetPublicKeyCommand,
  type KeySpec,
  type SigningAlgorithmSpec,
  SignCommand,
  VerifyCommand,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalKms, localKmsClient, startLocalKms } from '@nitro-datakey/devkit';

/*
 * Sign and Verify with SIGN_VERIFY keys (KMS Developer Guide "Asymmetric keys"): each signature checked by
 * the local KMS's Verify and, independently, by OpenSSL against GetPublicKey's DER key.
 */
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
const opensslNote = hasOpenssl ? '' : ' (OpenSSL part skipped: no openssl)';
const dir = mkdtempSync(join(tmpdir(), 'ndk-sign-'));
let kms: LocalKms;
let client: ReturnType<typeof localKmsClient>;
beforeAll(async () => {
  kms = await startLocalKms();
  client = localKmsClient(kms);
});
afterAll(async () => {
  client?.destroy();
  await kms?.close();
  rmSync(dir, { recursive: true, force: true });
});

const message = new TextEncoder().encode('release v1.2.3');

/** OpenSSL's verdict on a signature, from the DER public key. */
function opensslVerifies(publicKeyDer: Uint8Array, algorithm: string, signature: Uint8Array): boolean {
  const pub = join(dir, 'pub.der');
  const sig = join(dir, 'sig.bin');
  const msg = join(dir, 'msg.bin');
  writeFileSync(pub, publicKeyDer);
  writeFileSync(sig, signature);
  writeFileSync(msg, message);
  const hash = `-sha${algorithm.slice(-3)}`;
  const pss = algorithm.startsWith('RSASSA_PSS') ? ['-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:digest'] : [];
  const r = spawnSync('openssl', ['dgst', hash, '-keyform', 'DER', '-verify', pub, ...pss, '-signature', sig, msg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('Verified OK');
}

describe('Sign and Verify', () => {
  it.each([
    ['RSA_2048', 'RSASSA_PSS_SHA_256'],
    ['RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_384'],
    ['ECC_NIST_P256', 'ECDSA_SHA_256'],
    ['ECC_NIST_P384', 'ECDSA_SHA_384'],
  ] as const)(`%s with %s: Verify accepts it, a changed message is KMSInvalidSignatureException, and OpenSSL agrees${opensslNote}`, async (spec, algorithm) => {
    const keyId = (await client.send(new CreateKeyCommand({ KeyUsage: 'SIGN_VERIFY', KeySpec: spec as KeySpec }))).KeyMetadata?.KeyId as string;
    expect((await client.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.SigningAlgorithms).toContain(algorithm);
    const signed = await client.send(new SignCommand({ KeyId: keyId, Message: message, SigningAlgorithm: algorithm as SigningAlgorithmSpec }));
    const signature = signed.Signature as Uint8Array;
    expect(signed.SigningAlgorithm).toBe(algorithm);
    expect(
      (await client.send(new VerifyCommand({ KeyId: keyId, Message: message, Signature: signature, SigningAlgorithm: algorithm as SigningAlgorithmSpec })))
        .SignatureValid,
    ).toBe(true);
    const tampered = new TextEncoder().encode('release v1.2.4');
    await expect(
      client.send(new VerifyCommand({ KeyId: keyId, Message: tampered, Signature: signature, SigningAlgorithm: algorithm as SigningAlgorithmSpec })),
    ).rejects.toMatchObject({
      name: 'KMSInvalidSignatureException',
    });
    if (hasOpenssl) {
      const publicKey = (await client.send(new GetPublicKeyCommand({ KeyId: keyId }))).PublicKey as Uint8Array;
      expect(opensslVerifies(publicKey, algorithm, signature)).toBe(true);
      expect(
        opensslVerifies(
          publicKey,
          algorithm,
          signature.map((b, i) => (i === 10 ? b ^ 1 : b)),
        ),
      ).toBe(false);
    }
  });

  it.each([
    ['RSA_2048', 'RSASSA_PSS_SHA_256'],
    ['RSA_2048', 'RSASSA_PSS_SHA_512'],
    ['RSA_3072', 'RSASSA_PKCS1_V1_5_SHA_256'],
    ['RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_512'],
    ['ECC_NIST_P256', 'ECDSA_SHA_256'],
    ['ECC_NIST_P384', 'ECDSA_SHA_384'],
    ['ECC_NIST_P521', 'ECDSA_SHA_512'],
    ['ECC_SECG_P256K1', 'ECDSA_SHA_256'],
  ] as const)(
    `%s with %s over a DIGEST: the digest is signed as is (OpenSSL verifies it against the message)${opensslNote}, and RAW and DIGEST verify each other`,
    async (spec, algorithm) => {
      const keyId = (await client.send(new CreateKeyCommand({ KeyUsage: 'SIGN_VERIFY', KeySpec: spec as KeySpec }))).KeyMetadata?.KeyId as string;
      const SigningAlgorithm = algorithm as SigningAlgorithmSpec;
      const digest = createHash(`sha${algorithm.slice(-3)}`)
        .update(message)
        .digest();
      const fromDigest = (await client.send(new SignCommand({ KeyId: keyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm })))
        .Signature as Uint8Array;
      const fromRaw = (await client.send(new SignCommand({ KeyId: keyId, Message: message, SigningAlgorithm }))).Signature as Uint8Array;
      const verify = (m: Uint8Array, MessageType: 'RAW' | 'DIGEST', Signature: Uint8Array) =>
        client.send(new VerifyCommand({ KeyId: keyId, Message: m, MessageType, Signature, SigningAlgorithm })).then(
          (r) => r.SignatureValid,
          (e: Error) => e.name,
        );
      expect(await verify(message, 'RAW', fromDigest)).toBe(true);
      expect(await verify(digest, 'DIGEST', fromDigest)).toBe(true);
      expect(await verify(digest, 'DIGEST', fromRaw)).toBe(true);
      // A digest given as RAW is hashed again: the signature no longer matches, as on AWS.
      expect(await verify(digest, 'RAW', fromDigest)).toBe('KMSInvalidSignatureException');
      expect(
        await verify(
          digest.map((b, i) => (i === 0 ? b ^ 1 : b)),
          'DIGEST',
          fromDigest,
        ),
      ).toBe('KMSInvalidSignatureException');
      expect(
        await verify(
          digest,
          'DIGEST',
          fromDigest.map((b, i) => (i === 12 ? b ^ 1 : b)),
        ),
      ).toBe('KMSInvalidSignatureException');
      expect(await verify(digest, 'DIGEST', fromDigest.subarray(1))).toBe('KMSInvalidSignatureException');
      if (hasOpenssl) {
        const publicKey = (await client.send(new GetPublicKeyCommand({ KeyId: keyId }))).PublicKey as Uint8Array;
        expect(opensslVerifies(publicKey, algorithm, fromDigest)).toBe(true);
      }
    },
  );

  it('refuses a digest of the wrong length for the algorithm and EXTERNAL_MU on a key that is not ML-DSA (ValidationException)', async () => {
    const keyId = (await client.send(new CreateKeyCommand({ KeyUsage: 'SIGN_VERIFY', KeySpec: 'ECC_NIST_P256' }))).KeyMetadata?.KeyId as string;
    const sha384 = createHash('sha384').update(message).digest();
    await expect(
      client.send(new SignCommand({ KeyId: keyId, Message: sha384, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' })),
    ).rejects.toMatchObject({ name: 'ValidationException', message: 'Digest is invalid length for algorithm ECDSA_SHA_256.' });
    await expect(
      client.send(new SignCommand({ KeyId: keyId, Message: new Uint8Array(64), MessageType: 'EXTERNAL_MU', SigningAlgorithm: 'ECDSA_SHA_256' })),
    ).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining('EXTERNAL_MU') });
  });

  it('refuses an algorithm the key spec does not take, a signing key for Encrypt, and a SIGN_VERIFY key without a spec', async () => {
    const keyId = (await client.send(new CreateKeyCommand({ KeyUsage: 'SIGN_VERIFY', KeySpec: 'ECC_NIST_P256' }))).KeyMetadata?.KeyId as string;
    await expect(client.send(new SignCommand({ KeyId: keyId, Message: message, SigningAlgorithm: 'RSASSA_PSS_SHA_256' }))).rejects.toMatchObject({
      name: 'InvalidKeyUsageException',
    });
    await expect(client.send(new CreateKeyCommand({ KeyUsage: 'SIGN_VERIFY' }))).rejects.toMatchObject({ name: 'ValidationException' });
    const { EncryptCommand } = await import('@aws-sdk/client-kms');
    await expect(client.send(new EncryptCommand({ KeyId: keyId, Plaintext: message }))).rejects.toMatchObject({ name: 'InvalidKeyUsageException' });
  });
});
