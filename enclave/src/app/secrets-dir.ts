import { chmod, lstat, mkdir } from 'node:fs/promises';
import { writeFileAtomic } from '@nitro-datakey/shared/cli';
import { join } from 'node:path';
import { SecretsDirectoryError } from '../errors.js';

/**
 * Makes sure `dir` is a directory of ours that nobody else can read: created 0700 when missing; an
 * existing one must be a real directory (not a symlink) owned by this user, and is tightened to 0700.
 */
export async function prepareSecretsDirectory(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    // Something that is not a directory is in the way: the checks below name it.
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST' && (e as NodeJS.ErrnoException).code !== 'ENOTDIR') throw e;
  }
  const st = await lstat(dir);
  if (st.isSymbolicLink() || !st.isDirectory()) throw new SecretsDirectoryError(`${dir} is not a directory (a symlink or a file is never followed)`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) throw new SecretsDirectoryError(`${dir} belongs to uid ${st.uid}, not to this process (uid ${uid})`);
  if ((st.mode & 0o077) !== 0) await chmod(dir, 0o700);
}

/**
 * Writes one secret file atomically, 0600, never through a symlink (writeFileAtomic: O_EXCL |
 * O_NOFOLLOW temporary file, synced, renamed over the target).
 */
export async function writeSecretFile(dir: string, name: string, bytes: Uint8Array): Promise<void> {
  await writeFileAtomic(join(dir, name), bytes, 0o600);
}
