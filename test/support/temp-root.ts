import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * vitest globalSetup: one temporary root for the whole run. Each test file gets a directory of its own
 * in it as its TMPDIR (test/support/setup.ts), inherited by every process it starts; what a file leaves
 * there is recorded and removed after it. At the end the root goes, and test-temp-report.json says what
 * each file left behind: scripts/test-summary.mjs counts every such file as a failure.
 */
export const REPORT = 'test-temp-report.json';

/** What our code names its temporary directories: a new one in the system temp dir after a run is a leak. */
const OURS = /^(ndk-|nitro-datakey-)/;
const ours = (dir: string): string[] => readdirSync(dir).filter((name) => OURS.test(name));

// Every vitest project runs the global setup: the first makes the root, the last to tear down reports.
const shared = globalThis as { ndkTempRootUsers?: number };

export default function setup(): () => void {
  shared.ndkTempRootUsers = (shared.ndkTempRootUsers ?? 0) + 1;
  const existing = process.env['NITRO_DATAKEY_TEST_TMP_ROOT'];
  const base = tmpdir();
  const before = new Set(ours(base));
  const root = existing !== undefined && existsSync(existing) ? existing : mkdtempSync(join(base, 'ndk-tests-'));
  if (root !== existing) rmSync(REPORT, { force: true });
  // Traversable by other users (0711): some suites run a client as another uid against a socket in here.
  chmodSync(root, 0o711);
  process.env['NITRO_DATAKEY_TEST_TMP_ROOT'] = root;
  return () => {
    shared.ndkTempRootUsers = (shared.ndkTempRootUsers ?? 1) - 1;
    if (shared.ndkTempRootUsers > 0) return;
    const log = join(root, 'leftovers.jsonl');
    const leftovers = existsSync(log)
      ? readFileSync(log, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as { file: string; left: string[] })
      : [];
    // A process started without the inherited TMPDIR writes to the system temp dir: caught here. Only
    // reported, never removed, and another run's root is not ours: two runs may share a machine.
    const outside = ours(base).filter((name) => !before.has(name) && !name.startsWith('ndk-tests-'));
    if (outside.length > 0) leftovers.push({ file: `(the run, outside the per-file directories, in ${base})`, left: outside });
    writeFileSync(REPORT, `${JSON.stringify({ leftovers }, null, 2)}\n`);
    rmSync(root, { recursive: true, force: true });
    delete process.env['NITRO_DATAKEY_TEST_TMP_ROOT'];
  };
}
