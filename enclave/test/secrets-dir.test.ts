import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareSecretsDirectory, writeSecretFile } from '@nitro-datakey/enclave';

const made: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'ndk-secrets-'));
  made.push(d);
  return d;
};
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

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

  it('is never reached through a symlink higher up the path', async () => {
    const base = tmp();
    mkdirSync(join(base, 'real', 'secrets'), { recursive: true });
    symlinkSync(join(base, 'real'), join(base, 'link'));
    await expect(prepareSecretsDirectory(join(base, 'link', 'secrets'))).rejects.toMatchObject({
      code: 'ERR_SECRETS_DIRECTORY',
      message: expect.stringContaining('symlink'),
    });
    await expect(prepareSecretsDirectory(join(base, 'link', 'new'))).rejects.toMatchObject({ code: 'ERR_SECRETS_DIRECTORY' });
  });

  it('refuses a shared directory (sticky or world-writable) instead of taking it over, and leaves its mode alone', async () => {
    for (const mode of [0o1777, 0o777, 0o770, 0o1700]) {
      const shared = join(tmp(), 'shared');
      mkdirSync(shared);
      chmodSync(shared, mode);
      await expect(prepareSecretsDirectory(shared), mode.toString(8)).rejects.toMatchObject({ code: 'ERR_SECRETS_DIRECTORY' });
      expect(statSync(shared).mode & 0o7777).toBe(mode);
    }
  });

  it.skipIf(process.getuid?.() !== 0)("refuses a directory that holds someone else's file (needs root to chown one)", async () => {
    const dir = join(tmp(), 'secrets');
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(join(dir, 'planted'), 'x');
    chownSync(join(dir, 'planted'), 65534, 65534);
    await expect(prepareSecretsDirectory(dir)).rejects.toMatchObject({ code: 'ERR_SECRETS_DIRECTORY', message: expect.stringContaining('planted') });
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
