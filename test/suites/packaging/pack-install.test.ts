import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../support/index.js';

/*
 * The packages as a user gets them: `npm pack` of each publishable workspace, installed from those
 * tarballs into a fresh app outside the repository, then an attested call against the local KMS. Proves
 * the manifests (files, exports, bin, workspace dependencies resolved to versions) and that the addon
 * builds on install. npm is run with --prefer-offline: third-party packages come from npm's cache where
 * it has them (npm ci just filled it); only what it lacks is asked of the registry.
 */

const root = projectRoot();
const WORKSPACES = ['shared', 'shared/native', 'shared/commands', 'enclave', 'parent-proxy', 'test/devkit'];
let dir = '';
let tarballs: string[] = [];
let installError: string | undefined;

// At collection time, so that a skip (registry unreachable) can name its reason in the test's title.
{
  dir = mkdtempSync(join(tmpdir(), 'ndk-pack-'));
  const packs = join(dir, 'tarballs');
  mkdirSync(packs);
  for (const w of WORKSPACES) {
    const r = spawnSync('npm', ['pack', '--workspace', w, '--pack-destination', packs, '--json'], { cwd: root, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`npm pack ${w} failed: ${r.stderr}`);
  }
  tarballs = readdirSync(packs).map((f) => join(packs, f));
  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'my-enclave-app', private: true, type: 'module' }));
  const install = spawnSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...tarballs], { cwd: app, encoding: 'utf8' });
  if (install.status !== 0) {
    // Only a registry that cannot be reached is a reason to skip; any other failure fails the tests below.
    if (/ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ENOTCACHED|ETIMEDOUT/.test(install.stderr))
      installError = install.stderr.split('\n').find((l) => /npm error/.test(l));
    else throw new Error(`npm install of the tarballs failed:\n${install.stderr}`);
  }
}
const skipReason = installError ? ` (skipped: the npm registry is unreachable for what npm's cache lacks: ${installError})` : '';

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm pack, then install outside the repository', () => {
  it('packs every publishable workspace with LICENSE and README, and no test suite', () => {
    expect(tarballs).toHaveLength(WORKSPACES.length);
    for (const t of tarballs) {
      const files = spawnSync('tar', ['tzf', t], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
      expect(files, t).toContain('package/LICENSE');
      expect(files, t).toContain('package/README.md');
      expect(
        files.filter((f) => /\.test\.|\/suites\/|\/vitest/.test(f)),
        t,
      ).toEqual([]);
    }
  });

  it('ships no build state, and every source map points at sources inside the tarball', () => {
    for (const t of tarballs) {
      const files = new Set(spawnSync('tar', ['tzf', t], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean));
      expect(
        [...files].filter((f) => f.endsWith('.tsbuildinfo')),
        t,
      ).toEqual([]);
      const out = mkdtempSync(join(dir, 'unpacked-'));
      expect(spawnSync('tar', ['xzf', t, '-C', out]).status).toBe(0);
      const maps = [...files].filter((f) => f.endsWith('.map'));
      expect(maps.length, t).toBeGreaterThan(0);
      for (const m of maps) {
        const { sources } = JSON.parse(readFileSync(join(out, m), 'utf8')) as { sources: string[] };
        for (const source of sources) expect(files.has(posix.normalize(posix.join(posix.dirname(m), source))), `${t}: ${m} -> ${source}`).toBe(true);
      }
    }
  });

  it.skipIf(installError !== undefined)(
    `installs beside its siblings and makes an attested call against the local KMS${skipReason}`,
    () => {
      const app = join(dir, 'app');
      const script = `
      import { startStack } from '@nitro-datakey/devkit';
      const where = import.meta.resolve('@nitro-datakey/enclave');
      const stack = await startStack();
      try {
        const dk = await stack.client.generateDataKey({ KeyId: stack.keyId, KeySpec: 'AES_256' });
        console.log(JSON.stringify({ where, bytes: dk.plaintext.byteLength, sameKey: dk.keyId === stack.keyId, wrapped: dk.ciphertextBlob.byteLength > 0 }));
      } finally {
        await stack.close();
      }`;
      writeFileSync(join(app, 'call.mjs'), script);
      const r = spawnSync(process.execPath, ['call.mjs'], { cwd: app, encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout.trim().split('\n').pop() as string);
      expect(out.where.startsWith(`file://${app}/node_modules/@nitro-datakey/enclave/`)).toBe(true);
      expect(out).toMatchObject({ bytes: 32, sameKey: true, wrapped: true });
      // The commands are on PATH as npm links them.
      const version = spawnSync(join(app, 'node_modules', '.bin', 'nitro-datakey'), ['--version'], { encoding: 'utf8' });
      expect(version.status, version.stderr).toBe(0);
      expect(version.stdout.trim()).toMatch(/^@nitro-datakey\/commands \d+\.\d+\.\d+$/);
    },
    120_000,
  );
});
