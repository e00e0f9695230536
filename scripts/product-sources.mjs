// The TypeScript sources of every published package (or of the directories given on the command
// line), for the gates that read product code: one list, so the gates cannot disagree about it.
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const PRODUCT_ROOTS = ['shared/src', 'shared/native/src', 'shared/commands/src', 'enclave/src', 'parent-proxy/src', 'test/devkit/src'];

function sources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

/** Absolute paths of the .ts files under `dirs` (default: every published package's src/). */
export function productSources(dirs = []) {
  return (dirs.length > 0 ? dirs : PRODUCT_ROOTS).flatMap((d) => sources(resolve(d)));
}
