import { constants } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UsageError } from './exit.js';

/**
 * Writes `path` atomically and never through a symlink: a temporary file beside it with an
 * unpredictable name, created exclusively (O_EXCL | O_NOFOLLOW) with `mode`, synced, then renamed over
 * the target. A symlink planted at `path` is replaced, not followed; a reader sees the old file or the
 * whole new one, never half of it.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, mode: number): Promise<void> {
  // node:crypto loads here, not with the kit (the parent proxy writes no file).
  const { randomBytes } = await import('node:crypto');
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(12).toString('hex')}.tmp`);
  const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

/** Writes the envelope to `path` atomically, never through a symlink; a failure is the user's to fix. */
export async function writeOutput(path: string, text: string): Promise<void> {
  try {
    await writeFileAtomic(path, text, 0o644);
  } catch (e) {
    throw new UsageError(`cannot write --out ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}
