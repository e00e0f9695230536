import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/** Vite's default server conditions with `source` first, less `module` (the AWS SDK's dist-es is for bundlers). */
const SOURCE_CONDITIONS = ['source', 'node', 'development|production'];

// The enclave package's own tests, alone: they resolve shared, native and enclave through the
// packages' `source` export condition (their TypeScript sources), and nothing of the dev kit or the
// suites (make test-enclave runs them with the dev kit removed from node_modules).
export default defineConfig({
  resolve: { conditions: SOURCE_CONDITIONS },
  ssr: { resolve: { conditions: SOURCE_CONDITIONS } },
  test: { root: fileURLToPath(new URL('.', import.meta.url)), include: ['test/**/*.test.ts'], testTimeout: 60_000 },
});
