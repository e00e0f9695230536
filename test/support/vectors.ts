import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the real test vectors live: $NITRO_DATAKEY_VECTORS, or ../shared/vectors beside the project
 * root. They are read in place and never copied into the repository.
 */
export function vectorsDir(): string {
  const fromEnv = process.env['NITRO_DATAKEY_VECTORS'];
  if (fromEnv) return resolve(fromEnv);
  return resolve(projectRoot(), '..', 'shared', 'vectors');
}

/** The project root (where package-lock.json is), from test/support or test/dist/support. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package-lock.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** Whether every listed vector file (default: the attestation index) is present. */
export function vectorsAvailable(...relativePaths: string[]): boolean {
  return vectorsSkipReason(...relativePaths) === undefined;
}

/**
 * Why a suite that needs these vector files must skip, or undefined when they are all there. The
 * reason names the directory and the variable that overrides it, so a skipped run says what to do.
 */
export function vectorsSkipReason(...relativePaths: string[]): string | undefined {
  const paths = relativePaths.length > 0 ? relativePaths : [join('attestation', 'index.json')];
  const missing = paths.find((p) => !existsSync(join(vectorsDir(), p)));
  return missing === undefined
    ? undefined
    : `needs the real vectors: ${join(vectorsDir(), missing)} is missing (set NITRO_DATAKEY_VECTORS to the vectors directory)`;
}

export function readVector(relativePath: string): Uint8Array {
  return new Uint8Array(readFileSync(join(vectorsDir(), relativePath)));
}
