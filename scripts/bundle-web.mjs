#!/usr/bin/env node
// Builds the browser/worker files from tsc's output: the verifier as one minified ESM file that
// carries its dependencies (`@nitro-datakey/shared/web` under the browser and worker conditions),
// and the page `nitro-datakey verify --serve` serves. A bundle that would import anything it cannot
// resolve (a Node built-in, above all) fails the build: nothing on the verifier's path may need Node.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PAGE_FILES = ['index.html', 'style.css'];

async function bundle(input, file) {
  const problems = [];
  await build({
    input: join(root, input),
    platform: 'browser',
    resolve: { conditionNames: ['browser', 'import', 'default'] },
    output: { file: join(root, file), format: 'esm', minify: true },
    write: true,
    onLog: (level, log) => {
      if (level === 'warn') problems.push(`${log.code ?? 'WARN'}: ${log.message}`);
    },
  });
  if (problems.length > 0) throw new Error(`bundling ${input}:\n${problems.join('\n')}`);
}

await bundle('shared/dist/entries/web.js', 'shared/dist/web/nitro-verify.js');
await bundle('shared/commands/page/app.ts', 'shared/commands/dist/page/app.js');
mkdirSync(join(root, 'shared/commands/dist/page'), { recursive: true });
for (const name of PAGE_FILES) copyFileSync(join(root, 'shared/commands/page', name), join(root, 'shared/commands/dist/page', name));
