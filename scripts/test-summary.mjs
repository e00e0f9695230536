// Prints the plain closing line CI reads ("tests: N passed, N failed, N skipped") from vitest's JSON
// report, after one line per skipped suite (with the title that gives the reason) and one per test
// file that left something in its temporary directory, which counts as a failure (exit 1).
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
    // The reason is in whichever title says it: a describe's, or the test's own (it.skipIf).
    const titles = [...(test.ancestorTitles ?? []), test.title];
    const suite = titles.find((t) => /skip/i.test(t)) ?? titles.join(' > ');
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
// What a test file left in its temporary directory (test/support/temp-root.ts): a failure of that file.
let leftovers = [];
try {
  leftovers = JSON.parse(readFileSync('test-temp-report.json', 'utf8')).leftovers ?? [];
} catch {
  // no report: the run was not a full `vitest run` with the global setup
}
for (const { file, left } of leftovers) console.log(`failed: ${file} left ${left.length} item(s) in its temporary directory: ${left.slice(0, 5).join(', ')}`);
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
const failed = report.numFailedTests + unloaded.length + leftovers.length;
console.log(`tests: ${report.numPassedTests} passed, ${failed} failed, ${skipped} skipped`);
if (leftovers.length > 0) process.exitCode = 1;
