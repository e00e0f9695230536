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
  // This file is test/src/vectors.ts or test/dist/src/vectors.js: walk up to the project root.
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package-lock.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return resolve(dir, '..', 'shared', 'vectors');
}

export function vectorsAvailable(): boolean {
  return existsSync(join(vectorsDir(), 'attestation', 'index.json'));
}

export function readVector(relativePath: string): Uint8Array {
  return new Uint8Array(readFileSync(join(vectorsDir(), relativePath)));
}
