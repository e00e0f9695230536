import { cpus } from 'node:os';
import { jsonLogger, routeProcessWarnings } from '@nitro-datakey/shared/cli';
import { cmsBenchmarks } from './cms.bench.js';
import { enclaveBenchmarks } from './enclave.bench.js';
import { kmsBenchmarks } from './kms.bench.js';
import { proxyBenchmarks } from './proxy.bench.js';
import { startupBenchmarks } from './startup.bench.js';
import { telemetryBenchmarks } from './telemetry.bench.js';
import { verifyBenchmarks } from './verify.bench.js';
import { webBenchmarks } from './web.bench.js';
import { progress, startSuite } from './harness.js';

const SUITES: Record<string, () => void | Promise<void>> = {
  verify: verifyBenchmarks,
  cms: cmsBenchmarks,
  kms: kmsBenchmarks,
  proxy: proxyBenchmarks,
  enclave: enclaveBenchmarks,
  startup: startupBenchmarks,
  telemetry: telemetryBenchmarks,
  web: webBenchmarks,
};

// Warnings as JSON lines on stderr, as every bin writes them: the tables on stdout stay clean to copy.
routeProcessWarnings(jsonLogger((line) => process.stderr.write(line), { minLevel: 'warn' }));

// `make bench` runs every suite; `make bench BENCH=verify` one of them.
const only = process.argv.slice(2);
const unknown = only.filter((name) => !Object.hasOwn(SUITES, name));
if (unknown.length > 0) {
  console.error(`make bench: unknown suite ${unknown.join(', ')} (suites: ${Object.keys(SUITES).join(', ')})`);
  process.exit(2);
}
console.log(`# nitro-datakey benchmarks\n\nnode ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}, ${new Date().toISOString()}`);
for (const [name, run] of Object.entries(SUITES)) {
  if (only.length === 0 || only.includes(name)) {
    startSuite(name);
    await run();
    progress('done');
  }
}
