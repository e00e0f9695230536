// No product source file over 400 lines: a file that long holds more than one job. Today's one
// exception may not grow (a ratchet); split it and remove it from the list.
//   node scripts/check-file-size.mjs [SRC_DIR...]   (default: every published package's src/)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const LIMIT = 400;
/** File (from the repository root) -> the most lines it may have until it is split. */
const RATCHET = { 'test/devkit/src/kms/operations.ts': 826 };
const DEFAULT_ROOTS = ['shared/src', 'shared/native/src', 'shared/commands/src', 'enclave/src', 'parent-proxy/src', 'test/devkit/src'];
const roots = (process.argv.length > 2 ? process.argv.slice(2) : DEFAULT_ROOTS).map((r) => resolve(r));

function sources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

const over = [];
let count = 0;
for (const file of roots.flatMap(sources)) {
  count++;
  const name = relative(process.cwd(), file);
  const lines = readFileSync(file, 'utf8').split('\n').length - 1;
  const allowed = RATCHET[name] ?? LIMIT;
  if (lines > allowed) over.push(`${name}: ${lines} lines (at most ${allowed}${name in RATCHET ? ', a ratchet: it may only shrink' : ''})`);
}
if (over.length > 0) {
  for (const line of over) console.error(`file size: ${line}`);
  process.exit(1);
}
console.log(`file size: ${count} files, none over ${LIMIT} lines but the ${Object.keys(RATCHET).length} listed`);
