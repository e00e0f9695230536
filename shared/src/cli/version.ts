import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `NAME VERSION` of the package a module belongs to (the nearest package.json above it), for
 * `--version`. Read at run time so it is always the installed package's own.
 */
export function packageVersion(moduleUrl: string): string {
  let dir = dirname(fileURLToPath(moduleUrl));
  for (;;) {
    const path = join(dir, 'package.json');
    if (existsSync(path)) {
      const manifest = JSON.parse(readFileSync(path, 'utf8')) as { name?: string; version?: string };
      if (manifest.name && manifest.version) return `${manifest.name} ${manifest.version}`;
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown version';
    dir = parent;
  }
}
