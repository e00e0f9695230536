// Biome's formatter keeps code within 160 columns but never breaks a string literal: this check holds
// every source line (strings included) to the same limit, so the limit is one rule, not a hope.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const LIMIT = 160;
const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts', '*.mjs', '*.js', '*.c', '*.h'], { encoding: 'utf8' })
  .split('\n')
  .filter(Boolean);
const long = [];
for (const file of files) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    continue; // deleted in the work tree
  }
  text.split('\n').forEach((line, i) => {
    if (line.length > LIMIT) long.push(`${file}:${i + 1}: ${line.length} characters`);
  });
}
for (const line of long) console.error(line);
if (long.length > 0) {
  console.error(`${long.length} line(s) over ${LIMIT} characters`);
  process.exit(1);
}
console.log(`line length: ${files.length} files, none over ${LIMIT} characters`);
