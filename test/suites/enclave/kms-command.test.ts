import { createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateKeyCommand, GetPublicKeyCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nitroEnclave } from '@nitro-datakey/enclave';
import { localKmsClient, startStack, type Stack } from '@nitro-datakey/devkit';
import { scratchDir } from '../../support/scratch.js';

/* `nitro-enclave kms ...`: one attested call from a shell, through the real proxy, with the app's config. */
let stack: Stack;
let dir: string;
let config: string;

beforeAll(async () => {
  stack = await startStack();
  dir = scratchDir('ndk-kmscmd-');
  writeFileSync(join(dir, 'ca.pem'), stack.kms.caCertPem as string);
  config = join(dir, 'enclave.json');
  writeFileSync(
    config,
    JSON.stringify({
      region: stack.kms.region,
      kms: { transport: stack.proxy.routes[0]?.listen, endpoint: `https://localhost:${new URL(stack.kms.endpoint).port}`, caFile: join(dir, 'ca.pem') },
      credentials: { transport: stack.proxy.credentials },
    }),
  );
});
afterAll(async () => stack?.close());

async function run(args: string[]): Promise<{ code: number; out: Buffer; err: string }> {
  const out: Buffer[] = [];
  let err = '';
  const code = await nitroEnclave(['kms', ...args], {
    io: { stdout: (d) => out.push(Buffer.from(d)), stderr: (t) => (err += t), readStdin: async () => new Uint8Array(0) },
    openNsm: () => stack.nsm,
  });
  return { code, out: Buffer.concat(out), err };
}

describe('nitro-enclave kms, the one-shot command', () => {
  it("--format hex and base64 leave no copy of the secret in Node's shared Buffer pool", async () => {
    for (const [bytes, format] of [
      [1, 'base64'],
      [2, 'base64'],
      [3, 'base64'],
      [32, 'hex'],
      [32, 'base64'],
      [48, 'hex'],
    ] as const) {
      const chunks: Uint8Array[] = [];
      const code = await nitroEnclave(
        ['kms', 'genrandom', '--config', config, '--bytes', String(bytes), '--format', format],
        // Captured into arrays of their own: the test must not put a pooled copy there itself.
        {
          io: {
            stdout: (d) => chunks.push(typeof d === 'string' ? new TextEncoder().encode(d) : new Uint8Array(d)),
            stderr: () => undefined,
            readStdin: async () => new Uint8Array(0),
          },
          openNsm: () => stack.nsm,
        },
      );
      expect(code).toBe(0);
      const text = new TextDecoder().decode(chunks[0]);
      // Decoded without Buffer.from, which would itself leave a copy in the pool.
      const trimmed = text.trim();
      const secret =
        format === 'hex' ? Uint8Array.from(trimmed.match(/../g) ?? [], (h) => Number.parseInt(h, 16)) : Uint8Array.from(atob(trimmed), (c) => c.charCodeAt(0));
      expect(secret, text).toHaveLength(bytes);
      expect(text).toBe(`${Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength).toString(format)}\n`);
      if (bytes < 16) continue; // too short to tell apart from chance in 8 KiB
      const pool = new Uint8Array(Buffer.allocUnsafe(1).buffer);
      expect(Buffer.from(pool.buffer, pool.byteOffset, pool.byteLength).indexOf(Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength)), format).toBe(
        -1,
      );
    }
  });

  it('genrandom, genkey and decrypt: attested calls, the secret where the caller says', async () => {
    const random = await run(['genrandom', '--config', config, '--bytes', '16', '--format', 'hex']);
    expect(random.code, random.err).toBe(0);
    expect(random.out.toString().trim()).toMatch(/^[0-9a-f]{32}$/);

    const genkey = await run(['genkey', '--config', config, '--key-id', stack.keyId, '--context', 'app=shell', '--format', 'base64']);
    expect(genkey.code, genkey.err).toBe(0);
    const dataKey = Buffer.from(genkey.out.toString().trim(), 'base64');
    expect(dataKey).toHaveLength(32);
    const meta = JSON.parse(genkey.err) as { keyId: string; ciphertextBlob: string };
    expect(meta.keyId).toBe(stack.keyId);

    writeFileSync(join(dir, 'blob.b64'), meta.ciphertextBlob);
    const out = join(dir, 'data-key.bin');
    const decrypted = await run(['decrypt', '--config', config, '--key-id', stack.keyId, '--context', 'app=shell', '--out', out, join(dir, 'blob.b64')]);
    expect(decrypted.code, decrypted.err).toBe(0);
    expect(readFileSync(out)).toEqual(dataKey);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    // --out never overwrites.
    expect((await run(['decrypt', '--config', config, '--key-id', stack.keyId, '--context', 'app=shell', '--out', out, join(dir, 'blob.b64')])).code).toBe(1);
  });

  it('derive: ECDH with a KEY_AGREEMENT key, equal to what the other party computes', async () => {
    const admin = localKmsClient(stack.kms);
    const agreementKey = (await admin.send(new CreateKeyCommand({ KeyUsage: 'KEY_AGREEMENT', KeySpec: 'ECC_NIST_P256' }))).KeyMetadata?.Arn as string;
    const kmsPublic = createPublicKey({
      key: Buffer.from((await admin.send(new GetPublicKeyCommand({ KeyId: agreementKey }))).PublicKey as Uint8Array),
      format: 'der',
      type: 'spki',
    });
    admin.destroy();
    const peer = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    writeFileSync(join(dir, 'peer.pem'), peer.publicKey.export({ format: 'pem', type: 'spki' }));
    const derived = await run(['derive', '--config', config, '--key-id', agreementKey, '--public-key', join(dir, 'peer.pem')]);
    expect(derived.code, derived.err).toBe(0);
    expect(derived.out).toEqual(diffieHellman({ privateKey: peer.privateKey, publicKey: kmsPublic }));
  });

  it('usage errors exit 2 before anything is asked of KMS; --help exits 0', async () => {
    for (const args of [
      ['genrandom', '--config', config],
      ['genkey', '--config', config],
      ['genkey', '--config', config, '--key-id', stack.keyId, '--key-spec', 'AES_512'],
      ['derive', '--config', config, '--key-id', stack.keyId],
      ['decrypt', '--config', config],
      ['frobnicate', '--config', config],
      ['genrandom', '--bytes', '16'],
    ]) {
      expect((await run(args)).code, args.join(' ')).toBe(2);
    }
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out.toString()).toContain('kmstool-enclave-cli');
    // An alias with no ARN pinned is refused by the client, as in the app (exit 1).
    const alias = await run(['genkey', '--config', config, '--key-id', 'alias/whatever']);
    expect(alias.code).toBe(1);
    expect(alias.err).toMatch(/ERR_KMS_WRONG_KEY/);
  });
});
