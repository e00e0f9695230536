// No product source file over 400 lines: a file that long holds more than one job. An exception, if one
// is ever needed, goes in RATCHET with its line count and may only shrink until it is split.
//   node scripts/check-file-size.mjs [SRC_DIR...]   (default: every published package's src/)
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { productSources } from './product-sources.mjs';

const LIMIT = 400;
/** File (from the repository root) -> the most lines it may have until it is split. */
const RATCHET = {};

const files = productSources(process.argv.slice(2));
const over = [];
for (const file of files) {
  const name = relative(process.cwd(), file);
  const lines = readFileSync(file, 'utf8').split('\n').length - 1;
  const allowed = RATCHET[name] ?? LIMIT;
  if (lines > allowed) over.push(`${name}: ${lines} lines (at most ${allowed}${name in RATCHET ? ', a ratchet: it may only shrink' : ''})`);
}
if (over.length > 0) {
  for (const line of over) console.error(`file size: ${line}`);
  process.exit(1);
}
const listed = Object.keys(RATCHET).length;
console.log(`file size: ${files.length} files, none over ${LIMIT} lines${listed > 0 ? ` but the ${listed} listed` : ''}`);
