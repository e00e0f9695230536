import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareSecretsDirectory, writeSecretFile } from '@nitro-datakey/enclave';

const tmp = () => mkdtempSync(join(tmpdir(), 'ndk-secrets-'));

describe('the secrets directory', () => {
  it('is created 0700 when missing, and an existing loose one is tightened to 0700', async () => {
    const base = tmp();
    await prepareSecretsDirectory(join(base, 'new', 'secrets'));
    expect(statSync(join(base, 'new', 'secrets')).mode & 0o777).toBe(0o700);
    const loose = join(base, 'loose');
    mkdirSync(loose, { mode: 0o755 });
    await prepareSecretsDirectory(loose);
    expect(statSync(loose).mode & 0o777).toBe(0o700);
  });

  it('is never a symlink or a file', async () => {
    const base = tmp();
    mkdirSync(join(base, 'real'));
    symlinkSync(join(base, 'real'), join(base, 'link'));
    await expect(prepareSecretsDirectory(join(base, 'link'))).rejects.toMatchObject({ code: 'ERR_SECRETS_DIRECTORY' });
    writeFileSync(join(base, 'file'), '');
    await expect(prepareSecretsDirectory(join(base, 'file'))).rejects.toMatchObject({ code: 'ERR_SECRETS_DIRECTORY' });
  });
});

describe('secret files', () => {
  it('are written 0600, atomically, leaving no temporary file behind', async () => {
    const dir = tmp();
    await writeSecretFile(dir, 'db-password', new TextEncoder().encode('s3cret'));
    expect(readFileSync(join(dir, 'db-password'), 'utf8')).toBe('s3cret');
    expect(statSync(join(dir, 'db-password')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['db-password']);
  });

  it('replace a symlink planted at the target instead of writing through it', async () => {
    const dir = tmp();
    const elsewhere = join(tmp(), 'victim');
    writeFileSync(elsewhere, 'untouched');
    symlinkSync(elsewhere, join(dir, 'db-password'));
    // The old code wrote to `${target}.${pid}.tmp`: a link planted there would have been followed.
    symlinkSync(elsewhere, join(dir, `db-password.${process.pid}.tmp`));
    await writeSecretFile(dir, 'db-password', new TextEncoder().encode('s3cret'));
    expect(readFileSync(elsewhere, 'utf8')).toBe('untouched');
    expect(lstatSync(join(dir, 'db-password')).isSymbolicLink()).toBe(false);
    expect(readFileSync(join(dir, 'db-password'), 'utf8')).toBe('s3cret');
  });
});
