import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources; `make test` also builds, so the bins they spawn are current.
    alias: [
      { find: /^@nitro-datakey\/shared$/, replacement: src('./shared/src/index.ts') },
      { find: /^@nitro-datakey\/shared\/cli$/, replacement: src('./shared/src/cli/index.ts') },
      { find: /^@nitro-datakey\/shared\/testing$/, replacement: src('./shared/src/testing.ts') },
      { find: /^@nitro-datakey\/native$/, replacement: src('./shared/native/src/index.ts') },
      { find: /^@nitro-datakey\/enclave$/, replacement: src('./enclave/src/index.ts') },
      { find: /^@nitro-datakey\/parent-proxy$/, replacement: src('./parent-proxy/src/index.ts') },
      { find: /^@nitro-datakey\/devkit$/, replacement: src('./test/devkit/src/index.ts') },
    ],
  },
  test: {
    include: ['test/suites/**/*.test.ts', 'enclave/test/**/*.test.ts'],
    // Process warnings (the AWS SDK's Node-version notice among them) go through the same router as in every bin.
    setupFiles: [src('./test/support/setup.ts')],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
