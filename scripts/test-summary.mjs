// Prints the plain closing line CI reads ("tests: N passed, N failed, N skipped") from vitest's JSON
// report, after one line per skipped suite: suites that skip name the reason in their title.
import { readFileSync } from 'node:fs';

const path = process.argv[2] ?? 'test-results.json';
let report;
try {
  report = JSON.parse(readFileSync(path, 'utf8'));
} catch {
  console.log('tests: 0 passed, 1 failed');
  console.error(`no vitest report at ${path}: the run did not complete`);
  process.exit(1);
}
const skippedSuites = new Map();
for (const file of report.testResults ?? []) {
  for (const test of file.assertionResults ?? []) {
    if (test.status !== 'pending' && test.status !== 'skipped' && test.status !== 'todo') continue;
    const suite = test.ancestorTitles?.[0] ?? test.title;
    skippedSuites.set(suite, (skippedSuites.get(suite) ?? 0) + 1);
  }
}
for (const [suite, count] of skippedSuites) console.log(`skipped: ${suite} (${count} test${count === 1 ? '' : 's'})`);
// A file that fails outside any test (an import refused, a beforeAll that throws) has no failed test
// result: it still counts as a failure, or the closing line would say "0 failed" over a red run.
const unloaded = (report.testResults ?? []).filter(
  (file) => file.status === 'failed' && !(file.assertionResults ?? []).some((test) => test.status === 'failed'),
);
for (const file of unloaded) console.log(`failed outside any test: ${file.name}: ${(file.message ?? '').split('\n')[0]}`);
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(`tests: ${report.numPassedTests} passed, ${report.numFailedTests + unloaded.length} failed, ${skipped} skipped`);
