import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GenerateDataKeyCommand, DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSecret, parseEnclaveConfig, sealSecret, startEnclaveApp, type SealedSecret } from '@nitro-datakey/enclave';
import { startStack, type Stack } from '@nitro-datakey/devkit';
import { scratchDir } from '../../support/scratch.js';

describe.each(['tcp', 'unix'] as const)('the attested path through the real proxy over %s, TLS from the enclave to the local KMS', (transport) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ transport });
    await stack.client.keys.warm(2);
  });
  afterAll(async () => stack?.close());

  it('serves 64 concurrent calls without a process warning (no listener per call on a shared signal)', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const out = await Promise.all(Array.from({ length: 64 }, () => stack.client.generateRandom({ NumberOfBytes: 16 })));
      expect(out.every((r) => r.byteLength === 16)).toBe(true);
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });

  it('GenerateDataKey, Decrypt, GenerateDataKeyPair and GenerateRandom, each attested', async () => {
    const dk = await stack.client.generateDataKey({ KeyId: stack.keyId, KeySpec: 'AES_256', EncryptionContext: { app: 'e2e' } });
    expect(dk.plaintext).toHaveLength(32);
    expect(dk.keyId).toContain(stack.keyId);
    const back = await stack.client.decrypt({ CiphertextBlob: dk.ciphertextBlob, EncryptionContext: { app: 'e2e' }, KeyId: stack.keyId });
    expect(back.plaintext).toEqual(dk.plaintext);
    const pair = await stack.client.generateDataKeyPair({ KeyId: stack.keyId, KeyPairSpec: 'ECC_NIST_P256' });
    const pub = createPublicKey(createPrivateKey({ key: Buffer.from(pair.privateKey), format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' });
    expect(pub.equals(Buffer.from(pair.publicKey))).toBe(true);
    expect(await stack.client.generateRandom({ NumberOfBytes: 24 })).toHaveLength(24);
    // Under the default policy one key pair serves these calls (each still carries a fresh document):
    // the warm pool of two, and nothing generated per call.
    expect(stack.client.keys.stats().generated).toBeLessThanOrEqual(3);
  });

  it('the bytes the parent forwards are TLS records only: no data key crosses it in the clear', async () => {
    const before = stack.proxy.metricsRegistry.render();
    const dk = await stack.client.generateDataKey({ KeyId: stack.keyId, NumberOfBytes: 64 });
    expect(stack.proxy.metricsRegistry.render()).not.toBe(before); // bytes did go through the proxy
    // The data key is in no log line or metric of the parent, and the client only holds it decrypted from CMS.
    expect(stack.proxy.metricsRegistry.render()).not.toContain(Buffer.from(dk.plaintext).toString('base64'));
  });

  it('sealed secrets: seal, open, and every kind of damage refused with a typed error', async () => {
    const secret = new TextEncoder().encode('database password: correct horse battery staple');
    const sealed = await sealSecret(stack.client, secret, { keyId: stack.keyId, name: 'db-password', encryptionContext: { service: 'billing', env: 'prod' } });
    expect(sealed).toMatchObject({
      format: 'nitro-datakey/sealed-secret',
      version: 1,
      algorithm: 'AES-256-GCM',
      encryptionContext: { service: 'billing', env: 'prod', 'nitro-datakey:secret-name': 'db-password' },
    });
    expect(sealed.keyId).toBe(stack.keyId);
    expect(JSON.stringify(sealed)).not.toContain('correct horse');
    const item = { keyId: stack.keyId, name: 'db-password' };
    expect(await openSecret(stack.client, JSON.stringify(sealed), item)).toEqual(secret);
    expect(await openSecret(stack.client, sealed, { ...item, expectedContext: { env: 'prod', service: 'billing' } })).toEqual(secret);

    const codeOf = (p: Promise<unknown>) =>
      p.then(
        () => 'OK',
        (e: { code?: string }) => e.code,
      );
    const flip = (b64: string) => {
      const b = Buffer.from(b64, 'base64');
      b[0] = (b[0] as number) ^ 1;
      return b.toString('base64');
    };
    const variants: Array<[string, SealedSecret | string, string]> = [
      ['a wrong context, expected by the caller', sealed, 'ERR_SEALED_SECRET_CONTEXT'],
      ['a context edited in the envelope', { ...sealed, encryptionContext: { ...sealed.encryptionContext, env: 'dev' } }, 'ERR_SEALED_SECRET_KEY'],
      ['a flipped ciphertext byte', { ...sealed, ciphertext: flip(sealed.ciphertext) }, 'ERR_SEALED_SECRET_INTEGRITY'],
      ['a flipped tag', { ...sealed, tag: flip(sealed.tag) }, 'ERR_SEALED_SECRET_INTEGRITY'],
      ['a damaged data key', { ...sealed, encryptedDataKey: flip(sealed.encryptedDataKey) }, 'ERR_SEALED_SECRET_KEY'],
      ['another version', { ...sealed, version: 2 as 1 }, 'ERR_SEALED_SECRET_MALFORMED'],
      ['an unknown field', { ...sealed, extra: 1 } as unknown as SealedSecret, 'ERR_SEALED_SECRET_MALFORMED'],
      ['not JSON', '{"format": ', 'ERR_SEALED_SECRET_MALFORMED'],
      ['a short IV', { ...sealed, iv: 'AAAA' }, 'ERR_SEALED_SECRET_MALFORMED'],
    ];
    for (const [name, envelope, code] of variants) {
      const options = name.includes('expected by the caller') ? { ...item, expectedContext: { service: 'billing', env: 'dev' } } : item;
      expect(await codeOf(openSecret(stack.client, envelope, options)), name).toBe(code);
    }
  });
});

describe('the data-key cache (off by default)', () => {
  it('reuses a data key within its bounds and asks KMS again past them', async () => {
    let now = 0;
    const stack = await startStack();
    try {
      const cached = stack.clientFor(stack.nsm, { dataKeyCache: { maxAgeMs: 1000, maxUses: 3, maxBytes: 1024, clock: () => new Date(now) } });
      const input = { KeyId: stack.keyId, KeySpec: 'AES_256' as const, EncryptionContext: { t: '1' } };
      const a = await cached.generateDataKey(input);
      const b = await cached.generateDataKey(input);
      const c = await cached.generateDataKey(input);
      expect(b.plaintext).toEqual(a.plaintext);
      expect(c.ciphertextBlob).toEqual(a.ciphertextBlob);
      const d = await cached.generateDataKey(input); // 4th use: past maxUses
      expect(d.plaintext).not.toEqual(a.plaintext);
      now += 1001;
      expect((await cached.generateDataKey(input)).plaintext).not.toEqual(d.plaintext); // past maxAgeMs
      expect((await cached.generateDataKey({ ...input, EncryptionContext: { t: '2' } })).plaintext).not.toEqual(d.plaintext); // another context
      a.plaintext.fill(0); // the caller zeroing its copy does not touch the cache
      const uncached = await stack.client.generateDataKey(input);
      expect((await stack.client.generateDataKey(input)).plaintext).not.toEqual(uncached.plaintext);
    } finally {
      await stack.close();
    }
  });
});

describe('the enclave app', () => {
  it('opens sealed secrets into 0600 files at boot and serves the KMS gateway to workloads inside the enclave', async () => {
    const stack = await startStack();
    const dir = scratchDir('ndk-app-');
    try {
      const envelope = join(dir, 'db.sealed.json');
      writeFileSync(
        envelope,
        JSON.stringify(
          await sealSecret(stack.client, new TextEncoder().encode('s3cret'), { keyId: stack.keyId, name: 'db-password', encryptionContext: { name: 'db' } }),
        ),
      );
      const caFile = join(dir, 'ca.pem');
      writeFileSync(caFile, stack.kms.caCertPem as string);
      const kmsPort = new URL(stack.kms.endpoint).port;
      const config = parseEnclaveConfig({
        region: stack.kms.region,
        kms: { transport: stack.proxy.routes[0]?.listen, endpoint: `https://localhost:${kmsPort}`, caFile, allowedKeys: { 'alias/db': stack.keyId } },
        credentials: { transport: stack.proxy.credentials },
        secrets: { dir: join(dir, 'run-secrets'), items: [{ name: 'db-password', envelope, keyId: stack.keyId, encryptionContext: { name: 'db' } }] },
        gateway: { listen: 'tcp:127.0.0.1:0' },
      });
      const app = await startEnclaveApp(config, { nsm: stack.nsm });
      try {
        expect(app.secrets).toEqual(['db-password']);
        const file = join(dir, 'run-secrets', 'db-password');
        expect(readFileSync(file, 'utf8')).toBe('s3cret');
        expect(statSync(file).mode & 0o777).toBe(0o600);
        // A workload's unmodified SDK, pointed at the gateway, gets plaintext; KMS only ever saw attested calls.
        const [, host, port] = /^tcp:(.+):(\d+)$/.exec(app.gateway as string) ?? [];
        const workload = new KMSClient({
          region: 'us-east-1',
          endpoint: `http://${host}:${port}`,
          credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
          maxAttempts: 1,
        });
        const dk = await workload.send(new GenerateDataKeyCommand({ KeyId: stack.keyId, KeySpec: 'AES_256' }));
        expect(dk.Plaintext).toHaveLength(32);
        const back = await workload.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob as Uint8Array }));
        expect(back.Plaintext).toEqual(dk.Plaintext);
        const refused = await workload.send(new DecryptCommand({ CiphertextBlob: new Uint8Array(40) })).catch((e: Error) => e);
        expect((refused as Error).name).toBe('InvalidCiphertextException');
        workload.destroy();
      } finally {
        await app.close();
      }
    } finally {
      await stack.close();
    }
  });

  it('refuses a gateway reachable from outside the enclave, and unknown config keys', () => {
    const base = { region: 'us-east-1', kms: { transport: 'vsock:3:8000' }, credentials: { transport: 'vsock:3:8002' } };
    expect(() => parseEnclaveConfig({ ...base, gateway: { listen: 'tcp:0.0.0.0:4000' } })).toThrow(/loopback TCP or a Unix socket only/);
    expect(() => parseEnclaveConfig({ ...base, gateway: { listen: 'vsock:3:4000' } })).toThrow(/loopback/);
    expect(() => parseEnclaveConfig({ ...base, verbose: true })).toThrow(
      expect.objectContaining({ code: 'ERR_ENCLAVE_CONFIG', message: expect.stringContaining('verbose') }),
    );
    expect(() => parseEnclaveConfig({ ...base, nsm: 'device' })).toThrow(
      expect.objectContaining({ code: 'ERR_ENCLAVE_CONFIG', message: expect.stringContaining('nsm') }),
    );
  });
});
