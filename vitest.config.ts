import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
/** Vite's default server conditions with `source` first, less `module` (the AWS SDK's dist-es is for bundlers). */
const SOURCE_CONDITIONS = ['source', 'node', 'development|production'];

export default defineConfig({
  // Tests run against the TypeScript sources: every workspace package's exports carry a `source`
  // condition next to its built `default`. `make test` also builds, so the bins they spawn are current.
  resolve: { conditions: SOURCE_CONDITIONS },
  ssr: { resolve: { conditions: SOURCE_CONDITIONS } },
  test: {
    include: ['test/suites/**/*.test.ts', 'enclave/test/**/*.test.ts'],
    // Process warnings (the AWS SDK's Node-version notice among them) go through the same router as in every bin.
    setupFiles: [src('./test/support/setup.ts')],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
