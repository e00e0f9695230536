import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../support/index.js';
import { probeNode } from '../../support/module-probe.js';

/*
 * The package cut follows the trust boundary (ARCHITECTURE.md). These tests hold it by construction:
 * what importing a package loads, what installing it pulls in, and what its sources may import.
 */
const root = projectRoot();

/**
 * Imports `specifier` (the built package, as an app would) in a fresh Node process and returns every
 * module it loaded (the module probe: ESM through a resolve hook, CommonJS from require's cache).
 */
async function modulesLoadedBy(specifier: string): Promise<readonly string[]> {
  const script = `await import(${JSON.stringify(specifier)});\nconsole.log('imported');`;
  return (await probeNode(['--input-type=module', '-e', script], { cwd: root })).modules;
}

const fromPackage = (name: string) => (m: string) => m.includes(`/node_modules/${name}/`) || m.includes(`/${name.replace('@nitro-datakey/', '')}/dist/`);

describe('the trust boundary, by construction', () => {
  it('importing @nitro-datakey/parent-proxy loads no KMS SDK, no enclave and no dev kit code', async () => {
    const loaded = await modulesLoadedBy('@nitro-datakey/parent-proxy');
    expect(loaded.some((m) => m.includes('/parent-proxy/dist/index.js'))).toBe(true);
    expect(loaded.some((m) => m.includes('/shared/native/dist/'))).toBe(true);
    expect(loaded.filter((m) => m.includes('/node_modules/@aws-sdk/client-kms/'))).toEqual([]);
    expect(loaded.filter((m) => /\/enclave\/dist\/|\/test\/devkit\/dist\//.test(m))).toEqual([]);
  });

  it('the same probe sees the KMS SDK when @nitro-datakey/enclave is imported (the detector works)', async () => {
    const loaded = await modulesLoadedBy('@nitro-datakey/enclave');
    expect(loaded.some((m) => m.includes('/node_modules/@aws-sdk/client-kms/'))).toBe(true);
    expect(loaded.some(fromPackage('@nitro-datakey/enclave'))).toBe(true);
    expect(loaded.filter((m) => /\/parent-proxy\/dist\/|\/test\/devkit\/dist\//.test(m))).toEqual([]);
  });

  /** Every package an install of `workspace` pulls in, following package-lock.json as npm does. */
  function installClosure(workspace: string): Set<string> {
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string>; link?: boolean; resolved?: string }>;
    };
    const names = new Set<string>();
    const seen = new Set<string>();
    const visit = (location: string) => {
      if (seen.has(location)) return;
      seen.add(location);
      const entry = lock.packages[location];
      if (!entry) throw new Error(`package-lock.json has no entry ${location}`);
      if (entry.link && entry.resolved) return visit(entry.resolved);
      for (const dep of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) {
        // Node's lookup: the nearest node_modules/<dep> from this location up to the root.
        let base = location;
        let found: string | undefined;
        for (;;) {
          const candidate = `${base ? `${base}/` : ''}node_modules/${dep}`;
          if (lock.packages[candidate]) {
            found = candidate;
            break;
          }
          if (!base) break;
          const cut = base.lastIndexOf('/node_modules/');
          base = cut < 0 ? '' : base.slice(0, cut);
        }
        if (!found) continue; // an optional dependency for another platform
        names.add(dep);
        visit(found);
      }
    };
    visit(workspace);
    return names;
  }

  it("the parent proxy's install (with its workspace dependencies) pulls in neither the KMS SDK nor the enclave", () => {
    const manifest = JSON.parse(readFileSync(join(root, 'parent-proxy', 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(
      Object.keys(manifest.dependencies)
        .filter((d) => d.startsWith('@nitro-datakey/'))
        .sort(),
    ).toEqual(['@nitro-datakey/native', '@nitro-datakey/shared']);
    const closure = installClosure('parent-proxy');
    expect(closure.has('@nitro-datakey/shared')).toBe(true);
    expect(closure.has('yaml')).toBe(true);
    for (const absent of ['@aws-sdk/client-kms', '@nitro-datakey/enclave', '@nitro-datakey/devkit', 'vitest', 'pkijs'])
      expect(closure.has(absent), absent).toBe(false);
  });

  it("the enclave's install pulls in no dev kit, parent proxy or test tool", () => {
    const closure = installClosure('enclave');
    expect(closure.has('@aws-sdk/client-kms')).toBe(true);
    for (const absent of ['@nitro-datakey/devkit', '@nitro-datakey/parent-proxy', '@nitro-datakey/test-suites', 'yaml', 'vitest', 'pkijs', '@peculiar/x509']) {
      expect(closure.has(absent), absent).toBe(false);
    }
  });

  it('the enclave sources import no dev kit, suite or parent code, statically or dynamically', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (name.endsWith('.ts')) files.push(path);
      }
    };
    walk(join(root, 'enclave', 'src'));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const where = relative(root, file);
      expect(text, where).not.toMatch(/@nitro-datakey\/(devkit|test-suites|testkit|parent-proxy)/);
      // Every dynamic import names a literal module: nothing can be loaded by a computed name.
      for (const m of text.matchAll(/\bimport\s*\(([^)]*)\)/g)) expect(m[1]?.trim(), where).toMatch(/^'[^']+'$/);
    }
  });

  it('the suites package is never published; every other package lists its files and has no test in them', () => {
    const read = (p: string) =>
      JSON.parse(readFileSync(join(root, p, 'package.json'), 'utf8')) as { private?: boolean; files?: string[]; devDependencies?: Record<string, string> };
    expect(read('test').private).toBe(true);
    for (const p of ['shared', 'shared/native', 'shared/commands', 'enclave', 'parent-proxy', 'test/devkit']) {
      const manifest = read(p);
      expect(manifest.private, p).not.toBe(true);
      expect(manifest.files, p).toBeDefined();
      expect(
        manifest.files?.some((f) => /test|suites|bench/.test(f)),
        p,
      ).toBe(false);
    }
  });
});

describe('each process loads only its part', () => {
  /** Areas of shared the parent never needs: the verifier, CMS, X.509, the NSM client, key policies, the commands. */
  const ENCLAVE_SIDE = new RegExp(
    ['/shared/dist/(attestation|cms|x509|nsm|policy|cose|sealed-secret)/', '/shared/commands/dist/', String.raw`/shared/native/dist/nsm-device\.js`].join('|'),
  );

  it('the parent proxy, up to its ready line, loads no attestation, CMS, X.509, NSM-client or policy module', async () => {
    const proxy = await probeNode(['parent-proxy/bin/nitro-parent-proxy.js', '--route', 'tcp:127.0.0.1:0=127.0.0.1:9', '--allow', '127.0.0.1:9'], {
      cwd: root,
    });
    expect(proxy.modules.some((m) => m.includes('/parent-proxy/dist/proxy.js'))).toBe(true);
    expect(proxy.modules.some((m) => m.includes('/shared/native/dist/net.js'))).toBe(true);
    expect(proxy.modules.filter((m) => ENCLAVE_SIDE.test(m))).toEqual([]);
    expect(proxy.modules.filter((m) => m.includes('/node_modules/@aws-sdk/client-kms/'))).toEqual([]);
  });

  it('the same probe sees those modules in a process that uses them (the nitro-datakey command loads the verifier)', async () => {
    const verify = await probeNode(['shared/commands/bin/nitro-datakey.js', '--version'], { cwd: root });
    expect(verify.modules.filter((m) => ENCLAVE_SIDE.test(m)).length).toBeGreaterThan(0);
  });

  it('nitro-sim pki init loads no enclave code and no KMS SDK', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ndk-pki-probe-'));
    try {
      const sim = await probeNode(['test/devkit/bin/nitro-sim.js', 'pki', 'init', join(dir, 'root'), '--json'], { cwd: root });
      expect(sim.modules.some((m) => m.includes('/test/devkit/dist/nsm/pki.js'))).toBe(true);
      expect(sim.modules.filter((m) => /\/enclave\/dist\/|\/node_modules\/@aws-sdk\/client-kms\//.test(m))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
