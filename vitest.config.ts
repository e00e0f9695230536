import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
/** Vite's default server conditions with `source` first, less `module` (the AWS SDK's dist-es is for bundlers). */
const SOURCE_CONDITIONS = ['source', 'node', 'development|production'];
/** The coverage of the full run when the gate came in (80.47 / 76.56 / 82.06 / 83.66 %), rounded down. */
const COVERAGE_THRESHOLDS = { statements: 80, branches: 76, functions: 82, lines: 83 };

export default defineConfig({
  // Tests run against the TypeScript sources: every workspace package's exports carry a `source`
  // condition next to its built `default`. `make test` also builds, so the bins they spawn are current.
  resolve: { conditions: SOURCE_CONDITIONS },
  ssr: { resolve: { conditions: SOURCE_CONDITIONS } },
  test: {
    include: ['test/suites/**/*.test.ts', 'enclave/test/**/*.test.ts', 'shared/test/**/*.test.ts'],
    // Process warnings (the AWS SDK's Node-version notice among them) go through the same router as in every bin.
    setupFiles: [src('./test/support/setup.ts')],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Product code run in the test processes (bins the suites spawn are not counted: their lines are
    // covered, but in other processes). The thresholds are the level measured when the gate came in,
    // rounded down: coverage may only rise.
    coverage: {
      provider: 'v8',
      include: [
        'shared/src/**/*.ts',
        'shared/native/src/**/*.ts',
        'shared/commands/src/**/*.ts',
        'enclave/src/**/*.ts',
        'parent-proxy/src/**/*.ts',
        'test/devkit/src/**/*.ts',
      ],
      reporter: ['text-summary', 'json-summary'],
      reportsDirectory: 'coverage',
      thresholds: COVERAGE_THRESHOLDS,
    },
  },
});
