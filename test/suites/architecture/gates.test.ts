import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { declaredDependenciesOnly, packageOf, workspaceFolders } from '../../support/declared-dependencies.js';
import { projectRoot } from '../../support/index.js';

/*
 * The lint gates of `make lint` (ARCHITECTURE.md): each passes on this repository and fails, naming the
 * problem, on a small tree made to break it. A gate that cannot fail proves nothing.
 */
const root = projectRoot();
const dirs: string[] = [];
const tree = (files: Record<string, string>) => {
  const dir = mkdtempSync(join(tmpdir(), 'ndk-gate-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const node = (script: string, args: string[], cwd = root) => spawnSync(process.execPath, [join(root, 'scripts', script), ...args], { cwd, encoding: 'utf8' });

describe('the lint gates', () => {
  it('no import cycles: passes here, fails on a cycle through a type import', () => {
    const ok = node('check-import-cycles.mjs', []);
    expect(ok.status, ok.stderr).toBe(0);
    const dir = tree({
      'a.ts': "import type { B } from './b.js';\nexport type A = { b?: B };\n",
      'b.ts': "import type { A } from './a.js';\nexport type B = { a?: A };\n",
      'c.ts': "import type { A } from './a.js';\nexport type C = A;\n",
    });
    const bad = node('check-import-cycles.mjs', [dir]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/import cycle: .*a\.ts -> .*b\.ts -> .*a\.ts/);
  });

  it('no product file over 400 lines: passes here, fails on a 401-line file', () => {
    const ok = node('check-file-size.mjs', []);
    expect(ok.status, ok.stderr).toBe(0);
    const bad = node('check-file-size.mjs', [tree({ 'long.ts': 'export const x = 1;\n'.repeat(401) })]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/long\.ts: 401 lines \(at most 400\)/);
  });

  it('no product source is exempt: the complexity rule is relaxed only for tests, benchmarks and scripts', () => {
    const config = JSON.parse(readFileSync(join(root, 'biome.json'), 'utf8')) as { overrides?: { includes: string[] }[] };
    const exempt = (config.overrides ?? []).flatMap((o) => o.includes);
    const product = exempt.filter((path) => /(^|\/)src\//.test(path) || !/(^|\/)test\/|^scripts\/|^eif\//.test(path));
    expect(product).toEqual([]);
  });

  it('cognitive complexity at most 25 in product code: the rule of biome.json fails a function over it', () => {
    const config = JSON.parse(readFileSync(join(root, 'biome.json'), 'utf8')) as Record<string, unknown>;
    delete config['$schema'];
    config['vcs'] = { enabled: false };
    config['overrides'] = [];
    const branches = Array.from({ length: 14 }, (_, i) => `      if (x === ${i}) { for (const y of [x]) { if (y) total += y; } }`).join('\n');
    const dir = tree({
      'biome.json': JSON.stringify(config),
      'tangled.ts': [
        'export function tangled(xs: number[]): number {',
        '  let total = 0;',
        '  for (const x of xs) {',
        '    if (x > 0) {',
        branches,
        '    }',
        '  }',
        '  return total;',
        '}',
        '',
      ].join('\n'),
    });
    const r = spawnSync(join(root, 'node_modules/.bin/biome'), ['lint', 'tangled.ts'], { cwd: dir, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/noExcessiveCognitiveComplexity[\s\S]*max: 25/);
  });

  it("a package's files import only what its package.json declares: the test run refuses anything else", () => {
    const plugin = declaredDependenciesOnly(root, workspaceFolders(root));
    const resolve = (source: string, importer: string): string | undefined => {
      let refused: string | undefined;
      const context = {
        error: (message: string): never => {
          refused = message;
          throw new Error(message);
        },
      };
      try {
        (plugin.resolveId as (this: typeof context, s: string, i: string) => unknown).call(context, source, join(root, importer));
      } catch {
        // the message is what the test looks at
      }
      return refused;
    };
    expect(packageOf('@nitro-datakey/shared/cli')).toBe('@nitro-datakey/shared');
    expect(packageOf('yaml')).toBe('yaml');
    // The enclave's unit tests cannot reach the dev kit; its sources cannot reach the proxy's YAML parser.
    expect(resolve('@nitro-datakey/devkit', 'enclave/test/config.test.ts')).toMatch(/does not declare: add "@nitro-datakey\/devkit" to enclave\/package\.json/);
    expect(resolve('yaml', 'enclave/src/app/config.ts')).toMatch(/@nitro-datakey\/enclave does not declare/);
    // shared/native is its own package, not part of shared's folder: it may use shared, shared may not use it.
    expect(resolve('@nitro-datakey/shared/errors', 'shared/native/src/errors.ts')).toBeUndefined();
    expect(resolve('@nitro-datakey/native', 'shared/src/index.ts')).toMatch(/@nitro-datakey\/shared does not declare/);
    // Declared, built in, relative, or the test toolchain in tests: allowed.
    for (const [source, importer] of [
      ['@aws-sdk/client-kms', 'enclave/src/kms/attested-client.ts'],
      ['node:fs', 'enclave/src/app/config.ts'],
      ['./config.js', 'enclave/src/app/cli.ts'],
      ['vitest', 'enclave/test/config.test.ts'],
      ['@nitro-datakey/enclave', 'enclave/test/config.test.ts'],
    ]) {
      expect(resolve(source as string, importer as string), `${source} from ${importer}`).toBeUndefined();
    }
    // Test tooling is not for product sources.
    expect(resolve('vitest', 'enclave/src/app/config.ts')).toMatch(/does not declare/);
  });
});
