import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources; `make test` also builds, so the bins they spawn are current.
    alias: [
      { find: /^@nitro-datakey\/shared$/, replacement: src('./shared/src/index.ts') },
      { find: /^@nitro-datakey\/shared\/cli$/, replacement: src('./shared/src/cli/index.ts') },
      { find: /^@nitro-datakey\/enclave$/, replacement: src('./enclave/src/index.ts') },
      { find: /^@nitro-datakey\/parent-proxy$/, replacement: src('./parent-proxy/src/index.ts') },
      { find: /^@nitro-datakey\/testkit$/, replacement: src('./test/src/index.ts') },
    ],
  },
  test: {
    include: ['test/suites/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
