import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EnclaveApp, parseEnclaveConfig, type SealedSecret, SECRET_VERSION_CONTEXT_KEY, sealSecret, startEnclaveApp } from '@nitro-datakey/enclave';
import { localKmsClient, startStack, type Stack } from '@nitro-datakey/devkit';
import { stackEnclaveConfig } from '../../support/index.js';

/*
 * Secrets delivered and rotated at run time: the parent proxy serves envelopes from a directory over its
 * secrets route, the enclave opens them through KMS. The parent is untrusted: it can hold a rotation back,
 * never roll one back past what the enclave holds or its config's floor, never relabel or forge one.
 */
let stack: Stack;
let dir: string;
let served: string;
const apps: EnclaveApp[] = [];

const text = (s: string) => new TextEncoder().encode(s);
const seal = (value: string, version?: number, keyId = stack.keyId, name = 'db-password'): Promise<SealedSecret> =>
  sealSecret(stack.client, text(value), { keyId, name, ...(version ? { encryptionContext: { [SECRET_VERSION_CONTEXT_KEY]: String(version) } } : {}) });
/** The parent's part of a rotation: the new envelope renamed over the old, as `seal --out` writes it. */
function serve(envelope: unknown, name = 'db-password'): void {
  const temporary = join(served, `.${name}.tmp`);
  writeFileSync(temporary, typeof envelope === 'string' ? envelope : JSON.stringify(envelope));
  renameSync(temporary, join(served, `${name}.json`));
}

async function boot(items: object[], secretsName: string): Promise<EnclaveApp> {
  const config = parseEnclaveConfig({
    ...stackEnclaveConfig(stack, dir, { app: stack.keyId }),
    secrets: { dir: join(dir, secretsName), route: stack.proxy.secrets, items },
  });
  const app = await startEnclaveApp(config, { nsm: stack.nsm });
  apps.push(app);
  return app;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ndk-runtime-secrets-'));
  served = join(dir, 'served');
  mkdirSync(served);
  stack = await startStack({ secretsDir: served, transport: 'unix' });
}, 60_000);

afterAll(async () => {
  for (const app of apps) await app.close();
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('run-time secrets through the parent proxy', () => {
  it('opens at start, takes a rotation on demand, refuses a rollback, a relabelled and a forged envelope, and keeps the file meanwhile', async () => {
    serve(await seal('v1-password', 1));
    const app = await boot([{ name: 'db-password', keyId: 'app' }], 'secrets-a');
    const file = join(dir, 'secrets-a', 'db-password');
    expect(readFileSync(file, 'utf8')).toBe('v1-password');

    expect(await app.refreshSecrets()).toEqual([{ name: 'db-password', outcome: 'unchanged', version: 1 }]);

    const v2 = await seal('v2-password', 2);
    serve(v2);
    expect(await app.refreshSecrets()).toEqual([{ name: 'db-password', outcome: 'rotated', version: 2 }]);
    expect(readFileSync(file, 'utf8')).toBe('v2-password');

    // The parent serves the old envelope again: a rollback, refused before KMS is asked.
    serve(await seal('v1-again', 1));
    expect(await app.refreshSecrets()).toEqual([{ name: 'db-password', outcome: 'refused', version: 2, code: 'ERR_SECRET_ROLLBACK' }]);
    expect(readFileSync(file, 'utf8')).toBe('v2-password');

    // Relabelled: v2's envelope claiming version 9. KMS binds the context, so the data key does not unwrap.
    serve({ ...v2, encryptionContext: { ...v2.encryptionContext, [SECRET_VERSION_CONTEXT_KEY]: '9' } });
    expect(await app.refreshSecrets()).toEqual([{ name: 'db-password', outcome: 'failed', version: 2, code: 'ERR_SEALED_SECRET_KEY' }]);

    // Forged: a well-formed envelope under a key of the parent's choosing.
    const admin = localKmsClient(stack.kms);
    const otherKey = (await admin.send(new CreateKeyCommand({}))).KeyMetadata?.Arn as string;
    admin.destroy();
    const foreign = await seal('forged', 10, otherKey);
    serve(foreign);
    expect(await app.refreshSecrets()).toEqual([{ name: 'db-password', outcome: 'failed', version: 2, code: 'ERR_SEALED_SECRET_KEY' }]);

    // Ciphertext only: a plaintext file, or one that is a symlink, is never sent.
    serve('just the password, in clear');
    expect((await app.refreshSecrets())[0]).toMatchObject({ outcome: 'failed', code: 'ERR_SECRETS_ROUTE_UNAVAILABLE' });
    rmSync(join(served, 'db-password.json'));
    writeFileSync(join(dir, 'elsewhere.json'), JSON.stringify(await seal('v5', 5)));
    symlinkSync(join(dir, 'elsewhere.json'), join(served, 'db-password.json'));
    expect((await app.refreshSecrets())[0]).toMatchObject({ outcome: 'failed', code: 'ERR_SECRETS_ROUTE_UNAVAILABLE' });
    rmSync(join(served, 'db-password.json'));
    expect((await app.refreshSecrets())[0]).toMatchObject({ outcome: 'failed', code: 'ERR_SECRETS_ROUTE_NOT_FOUND' });
    expect(readFileSync(file, 'utf8')).toBe('v2-password');

    serve(await seal('v3-password', 3));
    expect((await app.refreshSecrets())[0]).toMatchObject({ outcome: 'rotated', version: 3 });
    expect(readFileSync(file, 'utf8')).toBe('v3-password');
    await app.close();
    expect(existsSync(file)).toBe(false);
  });

  it('minVersion is the floor: an enclave whose config says 4 does not boot on version 3', async () => {
    serve(await seal('v3-password', 3));
    const failed = await boot([{ name: 'db-password', keyId: 'app', minVersion: 4 }], 'secrets-b').catch((e: Error & { code?: string }) => e);
    expect(failed).toMatchObject({ code: 'ERR_SECRET_ROLLBACK' });
    expect(existsSync(join(dir, 'secrets-b', 'db-password'))).toBe(false);
  });

  it('an envelope from the image and one from the parent side by side; an item the parent lacks fails the boot', async () => {
    const baked = join(dir, 'api-token.sealed.json');
    writeFileSync(baked, JSON.stringify(await seal('baked-token', undefined, stack.keyId, 'api-token')));
    serve(await seal('v4-password', 4));
    const app = await boot(
      [
        { name: 'api-token', keyId: 'app', envelope: baked },
        { name: 'db-password', keyId: 'app' },
      ],
      'secrets-c',
    );
    expect(app.secrets).toEqual(['api-token', 'db-password']);
    expect(readFileSync(join(dir, 'secrets-c', 'api-token'), 'utf8')).toBe('baked-token');
    // Only the parent's items are fetched again.
    expect((await app.refreshSecrets()).map((r) => r.name)).toEqual(['db-password']);
    await app.close();
    const missing = await boot([{ name: 'nowhere', keyId: 'app' }], 'secrets-d').catch((e: Error & { code?: string }) => e);
    expect(missing).toMatchObject({ code: 'ERR_SECRETS_ROUTE_NOT_FOUND' });
  });
});
