import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { InvalidArgumentError } from '../errors.js';

/**
 * Makes `path` a directory (and its missing parents, mode `mode`), one level at a time. Not
 * mkdir's `recursive`: on Linux it never returns for a path under /proc (Node keeps retrying the parent
 * it cannot write), and the process then ignores signals. Something in the way that is not a
 * directory, or a level that cannot be made, is an InvalidArgumentError naming `label` (exit 2).
 */
export function makeDirectory(path: string, label: string, mode = 0o700): void {
  const missing: string[] = [];
  let existing = path;
  for (;;) {
    const stat = statSync(existing, { throwIfNoEntry: false });
    if (stat !== undefined) {
      if (!stat.isDirectory()) {
        throw new InvalidArgumentError(existing === path ? `${label} ${path} is not a directory` : `${label} ${path}: ${existing} is not a directory`);
      }
      break;
    }
    missing.unshift(existing);
    const parent = dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  for (const level of missing) {
    try {
      mkdirSync(level, { mode });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? String(e);
      if (code === 'EEXIST' && statSync(level, { throwIfNoEntry: false })?.isDirectory()) continue;
      throw new InvalidArgumentError(`cannot create ${label} ${path}: ${code}${level === path ? '' : ` (at ${level})`}`, { cause: e });
    }
  }
}
