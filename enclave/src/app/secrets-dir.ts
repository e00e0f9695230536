import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, realpath, unlink } from 'node:fs/promises';
import { writeFileAtomic } from '@nitro-datakey/shared/cli';
import { dirname, join, resolve } from 'node:path';
import { SecretsDirectoryError } from '../errors.js';

/**
 * Makes sure `dir` is a directory of ours that nobody else can read: created 0700 when missing. An
 * existing one must be a real directory reached through no symlink, owned by this user, not shared
 * (no group or world write bit, no sticky bit) and holding nothing of anyone else's; it is then
 * tightened to 0700. A shared directory is refused, never taken over: other users' files and
 * processes would sit beside the secrets.
 */
export async function prepareSecretsDirectory(dir: string): Promise<void> {
  const path = resolve(dir);
  try {
    await mkdir(path, { recursive: true, mode: 0o700 });
  } catch (e) {
    // Something that is not a directory is in the way: the checks below name it.
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST' && (e as NodeJS.ErrnoException).code !== 'ENOTDIR') throw e;
  }
  const st = await lstat(path);
  if (st.isSymbolicLink() || !st.isDirectory()) throw new SecretsDirectoryError(`${dir} is not a directory (a symlink or a file is never followed)`);
  // A symlink higher up would let whoever owns it move the secrets elsewhere.
  const parent = dirname(path);
  const realParent = await realpath(parent);
  if (realParent !== parent) {
    throw new SecretsDirectoryError(`${dir} is reached through a symlink (${parent} is really ${realParent}): give the real path`);
  }
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) throw new SecretsDirectoryError(`${dir} belongs to uid ${st.uid}, not to this process (uid ${uid})`);
  if ((st.mode & 0o7022) !== 0) {
    throw new SecretsDirectoryError(
      `${dir} is a shared directory (mode ${(st.mode & 0o7777).toString(8)}): ` +
        'give a directory of its own for the secrets, or remove it and let it be created 0700',
    );
  }
  if (uid !== undefined) {
    for (const entry of await readdir(path)) {
      const owner = (await lstat(join(path, entry))).uid;
      if (owner !== uid) throw new SecretsDirectoryError(`${dir} holds ${entry}, which belongs to uid ${owner}: give a directory of its own for the secrets`);
    }
  }
  if ((st.mode & 0o077) !== 0) await chmod(path, 0o700);
}

/**
 * Writes one secret file atomically, 0600, never through a symlink (writeFileAtomic: O_EXCL |
 * O_NOFOLLOW temporary file, synced, renamed over the target).
 */
export async function writeSecretFile(dir: string, name: string, bytes: Uint8Array): Promise<void> {
  await writeFileAtomic(join(dir, name), bytes, 0o600);
}

/**
 * Removes the secret files `names` from `dir`, each overwritten with zeros first (a reader holding it
 * open, or a page not yet reused, then finds zeros). Missing files are fine: removal is idempotent.
 */
export async function removeSecretFiles(dir: string, names: readonly string[]): Promise<void> {
  for (const name of names) {
    const path = join(dir, name);
    try {
      const handle = await open(path, constants.O_WRONLY | constants.O_NOFOLLOW);
      try {
        const { size } = await handle.stat();
        await handle.write(new Uint8Array(size), 0, size, 0);
      } finally {
        await handle.close();
      }
    } catch {
      // Gone already, or not ours to write: the unlink below still removes the name.
    }
    await unlink(path).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  }
}
