import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../support/index.js';
import { scratchDir } from '../../support/scratch.js';

/* The closing lines of `make test` (scripts/test-summary.mjs), from a vitest JSON report and the temp-directory report. */
function summary(report: unknown, temp?: unknown): { status: number | null; lines: string[] } {
  const dir = scratchDir('ndk-summary-');
  writeFileSync(join(dir, 'results.json'), JSON.stringify(report));
  if (temp !== undefined) writeFileSync(join(dir, 'test-temp-report.json'), JSON.stringify(temp));
  const r = spawnSync(process.execPath, [join(projectRoot(), 'scripts/test-summary.mjs'), 'results.json'], { cwd: dir, encoding: 'utf8' });
  return { status: r.status, lines: r.stdout.trimEnd().split('\n') };
}

const skippedByTitle = {
  numPassedTests: 3,
  numFailedTests: 0,
  numPendingTests: 1,
  numTodoTests: 0,
  testResults: [
    {
      name: 'image.test.ts',
      status: 'passed',
      assertionResults: [
        { status: 'passed', title: 'builds', ancestorTitles: ['the enclave image'] },
        {
          status: 'skipped',
          title: 'every shell script is shellcheck-clean (skipped: shellcheck is not installed; .ci/run installs it)',
          ancestorTitles: ['the enclave image'],
        },
      ],
    },
  ],
};

describe('scripts/test-summary.mjs', () => {
  it("names a skip by the title that gives its reason, the test's own when the describe has none", () => {
    const r = summary(skippedByTitle, { leftovers: [] });
    expect(r.status).toBe(0);
    expect(r.lines).toEqual([
      'skipped: every shell script is shellcheck-clean (skipped: shellcheck is not installed; .ci/run installs it) (1 test)',
      'tests: 3 passed, 0 failed, 1 skipped',
    ]);
  });

  it('counts a test file that left something in its temporary directory as a failure, and exits 1', () => {
    const r = summary(skippedByTitle, { leftovers: [{ file: 'test/suites/x.test.ts', left: ['ndk-x-abc123'] }] });
    expect(r.status).toBe(1);
    expect(r.lines).toContain('failed: test/suites/x.test.ts left 1 item(s) in its temporary directory: ndk-x-abc123');
    expect(r.lines.at(-1)).toBe('tests: 3 passed, 1 failed, 1 skipped');
  });
});

describe('the bench and tools entry points', () => {
  // They load test/support outside vitest: nothing there may need a running test file.
  it('make bench names its suites for an unknown one (exit 2), having loaded every suite module', () => {
    const r = spawnSync(process.execPath, [join(projectRoot(), 'test/dist/bench/run.js'), 'nope'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain('make bench: unknown suite nope (suites: verify, cms, kms, proxy, enclave, startup, telemetry, web)');
  });
});
