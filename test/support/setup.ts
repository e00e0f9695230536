import { appendFileSync, chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, expect } from 'vitest';
import { jsonLogger, routeProcessWarnings } from '@nitro-datakey/shared/cli';

// Same routing as every bin and the demo; a test run shows warnings, not the SDK's Node-version notice.
routeProcessWarnings(jsonLogger((line) => process.stderr.write(line), { minLevel: 'warn' }));

// Under `vitest run` (test/support/temp-root.ts), this file's own temporary directory: os.tmpdir()
// and every child process see it. What the file leaves in it is recorded, then removed (this hook
// runs after the file's own afterAll hooks).
const root = process.env['NITRO_DATAKEY_TEST_TMP_ROOT'];
if (root !== undefined) {
  const dir = mkdtempSync(join(root, 'f-'));
  chmodSync(dir, 0o711); // as /tmp would allow: a suite's client running as another uid must reach its socket
  process.env['TMPDIR'] = dir;
  afterAll(() => {
    const file = relative(process.cwd(), expect.getState().testPath ?? '(unknown file)');
    const left = readdirSync(dir);
    if (left.length > 0) appendFileSync(join(root, 'leftovers.jsonl'), `${JSON.stringify({ file, left })}\n`);
    rmSync(dir, { recursive: true, force: true });
  });
}
