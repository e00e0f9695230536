import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { declaredDependenciesOnly, workspaceFolders } from './test/support/declared-dependencies.js';

const src = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
/** Vite's default server conditions with `source` first, less `module` (the AWS SDK's dist-es is for bundlers). */
const SOURCE_CONDITIONS = ['source', 'node', 'development|production'];
/** The coverage of the full run at the last raise (83.27 / 78.08 / 84.87 / 86.43 %), rounded down: it may only rise. */
const COVERAGE_THRESHOLDS = { statements: 83, branches: 78, functions: 84, lines: 86 };

const root = src('.');

/**
 * Unit tests live beside their package (`PKG/test/`): they exercise that package through its own API
 * and may import only what its package.json declares. Tests that cross packages, spawn the bins or use
 * the dev kit are the integration suites (`test/suites/`). Each package's tests are a project of their
 * own (`vitest run --project unit:enclave`), so each runs once.
 */
const UNIT_PROJECTS: ReadonlyArray<readonly [string, string]> = [
  ['unit:shared', 'shared/test'],
  ['unit:native', 'shared/native/test'],
  ['unit:enclave', 'enclave/test'],
  ['unit:parent-proxy', 'parent-proxy/test'],
  ['unit:devkit', 'test/devkit/test'],
];

export default defineConfig({
  plugins: [declaredDependenciesOnly(root, workspaceFolders(root))],
  // Tests run against the TypeScript sources: every workspace package's exports carry a `source`
  // condition next to its built `default`. `make test` also builds, so the bins they spawn are current.
  resolve: { conditions: SOURCE_CONDITIONS },
  ssr: { resolve: { conditions: SOURCE_CONDITIONS } },
  test: {
    projects: [
      ...UNIT_PROJECTS.map(([name, dir]) => ({ extends: true as const, test: { name, include: [`${dir}/**/*.test.ts`] } })),
      { extends: true as const, test: { name: 'integration', include: ['test/suites/**/*.test.ts'] } },
    ],
    // Process warnings (the AWS SDK's Node-version notice among them) go through the same router as in every bin.
    setupFiles: [src('./test/support/setup.ts')],
    // One temporary root for the run, a directory in it per test file: what a file leaves is reported.
    globalSetup: [src('./test/support/temp-root.ts')],
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
