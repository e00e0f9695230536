import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../support/index.js';

/*
 * Step 8 of eif/README.md as an operator runs it: eif/install-proxy.sh DEST from this built clone.
 * What lands on the untrusted parent is the proxy and its production closure, nothing of the enclave,
 * the dev kit, the KMS SDK or the test tools. npm runs with npm's cache first (npm ci just filled it).
 */
const root = projectRoot();
const dest = mkdtempSync(join(tmpdir(), 'ndk-install-proxy-'));
afterAll(() => rmSync(dest, { recursive: true, force: true }));

// At collection time, so that a skip (registry unreachable) can name its reason in the test's title.
const run = spawnSync('bash', [join(root, 'eif/install-proxy.sh'), join(dest, 'opt')], {
  encoding: 'utf8',
  env: { ...process.env, npm_config_prefer_offline: 'true' },
});
const unreachable = run.status !== 0 && /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ENOTCACHED|ETIMEDOUT/.test(run.stderr);
const skipReason = unreachable ? " (skipped: the npm registry is unreachable for what npm's cache lacks)" : '';

describe('eif/install-proxy.sh: the parent gets the proxy and nothing else', () => {
  it.skipIf(unreachable)(`installs a proxy that starts, with no enclave, dev kit, KMS SDK or test tool beside it${skipReason}`, () => {
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('@nitro-datakey/parent-proxy');
    const opt = join(dest, 'opt');
    const modules = join(opt, 'node_modules');
    expect(existsSync(join(modules, '@nitro-datakey/parent-proxy'))).toBe(true);
    expect(existsSync(join(modules, 'yaml'))).toBe(true);
    const scoped = (scope: string) => (existsSync(join(modules, scope)) ? readdirSync(join(modules, scope)) : []);
    expect(scoped('@aws-sdk')).not.toContain('client-kms');
    expect(scoped('@aws-crypto')).toEqual([]);
    expect(scoped('@nitro-datakey').sort()).toEqual(['native', 'parent-proxy', 'shared']);
    for (const tool of ['vitest', 'typescript', '@biomejs', 'fast-check', 'pkijs']) expect(existsSync(join(modules, tool)), tool).toBe(false);
    expect(existsSync(join(opt, 'enclave', 'dist'))).toBe(false);
    // The installed proxy starts and refuses a bad flag as usage (exit 2), using its own copy of the addon.
    const bad = spawnSync(process.execPath, [join(opt, 'parent-proxy/bin/nitro-parent-proxy.js'), '--bogus'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
  });

  it('refuses to run without a destination (usage, exit 2)', () => {
    expect(spawnSync('bash', [join(root, 'eif/install-proxy.sh')], { encoding: 'utf8' }).status).toBe(2);
  });
});
