import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

// The enclave package's own tests, alone: they resolve shared, native and enclave, and nothing of the
// dev kit or the suites (make test-enclave runs them with the dev kit removed from node_modules).
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@nitro-datakey\/shared$/, replacement: src('../shared/src/index.ts') },
      { find: /^@nitro-datakey\/shared\/cli$/, replacement: src('../shared/src/cli/index.ts') },
      { find: /^@nitro-datakey\/native$/, replacement: src('../shared/native/src/index.ts') },
      { find: /^@nitro-datakey\/enclave$/, replacement: src('./src/index.ts') },
    ],
  },
  test: { root: src('.'), include: ['test/**/*.test.ts'], testTimeout: 60_000 },
});
