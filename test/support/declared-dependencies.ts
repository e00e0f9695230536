import { readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, relative, sep } from 'node:path';
import type { Plugin } from 'vitest/config';

/** A workspace package as the check sees it: its folder and every package name it may import. */
interface WorkspacePackage {
  readonly dir: string;
  readonly name: string;
  readonly allowed: ReadonlySet<string>;
}

/** `@scope/name` or `name`: the package a bare import names. */
export function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
}

/** The test toolchain (declared once, at the root) that a package's own tests may import besides its dependencies. */
const TEST_TOOLCHAIN = ['vitest'];

function readPackage(root: string, dir: string): WorkspacePackage {
  const manifest = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as Record<string, unknown>;
  const names = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'].flatMap((field) =>
    Object.keys((manifest[field] as Record<string, string> | undefined) ?? {}),
  );
  return { dir: join(root, dir), name: manifest['name'] as string, allowed: new Set([manifest['name'] as string, ...names]) };
}

/**
 * Each file may import only what its own package declares: a bare import from a workspace package's
 * folder (its sources, or its tests beside them) that names a package missing from that package.json
 * fails the test run, naming the file, the import and the manifest to fix. So a package's unit tests
 * resolve only its declared dependencies (the enclave's cannot reach the dev kit), and no source leans
 * on a package that happens to be hoisted into node_modules for another workspace.
 */
export function declaredDependenciesOnly(root: string, workspaces: readonly string[]): Plugin {
  // Deepest folder first: shared/native/... belongs to @nitro-datakey/native, not to @nitro-datakey/shared.
  const packages = workspaces.map((dir) => readPackage(root, dir)).sort((a, b) => b.dir.length - a.dir.length);
  const ownerOf = (file: string): WorkspacePackage | undefined =>
    file.includes(`${sep}node_modules${sep}`) ? undefined : packages.find((p) => file.startsWith(`${p.dir}${sep}`));
  return {
    name: 'nitro-datakey:declared-dependencies-only',
    enforce: 'pre',
    resolveId(source, importer) {
      if (importer === undefined || /^[./\0]/.test(source) || source.includes(':') || isBuiltin(source)) return null;
      const owner = ownerOf(importer.split('?')[0] as string);
      if (owner === undefined) return null;
      const name = packageOf(source);
      const inTests = !relative(owner.dir, importer).split(sep).includes('src');
      if (owner.allowed.has(name) || (inTests && TEST_TOOLCHAIN.includes(name))) return null;
      const manifest = relative(root, join(owner.dir, 'package.json'));
      this.error(`${relative(root, importer)} imports "${source}", which ${owner.name} does not declare: add "${name}" to ${manifest}, or import it elsewhere`);
    },
  };
}

/** The workspace folders of the root package.json. */
export function workspaceFolders(root: string): string[] {
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
}
