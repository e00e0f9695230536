// No file cycles in product code: a cycle (even over a type) means two modules are one module in
// two files, and a load order that depends on who imports first. Every relative import and re-export
// of the packages' sources is followed (type-only ones too); any cycle fails with its path.
//   node scripts/check-import-cycles.mjs [SRC_DIR...]   (default: every published package's src/)
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { productSources } from './product-sources.mjs';

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;
const graph = new Map();
for (const file of productSources(process.argv.slice(2))) {
  const edges = [];
  for (const [, spec] of readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
    const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
    if (existsSync(target)) edges.push(target);
  }
  graph.set(file, edges);
}

// Depth-first search with colours; each back edge is a cycle.
const state = new Map();
const stack = [];
const cycles = [];
function visit(file) {
  state.set(file, 'open');
  stack.push(file);
  for (const next of graph.get(file) ?? []) {
    if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
    else if (!state.has(next)) visit(next);
  }
  stack.pop();
  state.set(file, 'done');
}
for (const file of graph.keys()) if (!state.has(file)) visit(file);

if (cycles.length > 0) {
  for (const cycle of cycles) console.error(`import cycle: ${cycle.map((f) => relative(process.cwd(), f)).join(' -> ')}`);
  process.exit(1);
}
console.log(`import cycles: none in ${graph.size} files`);
