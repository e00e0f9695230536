import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { InvalidArgumentError } from '@nitro-datakey/shared';
import { DevkitError } from './errors.js';

/**
 * A built entry point of an installed package: `relativePath` under the directory of its main
 * module (dist/). Resolved the way Node resolves the package, so it works in this repository and in
 * an app that installed the packages; a clear error when the build is missing.
 */
export function builtScript(packageName: string, relativePath: string): string {
  let resolved: string;
  try {
    resolved = createRequire(import.meta.url).resolve(packageName);
  } catch (cause) {
    throw new InvalidArgumentError(`${packageName} is not installed here`, { cause });
  }
  // The package's own "main" decides where its build is: whatever export condition resolved it (the
  // suites resolve sources through "source"), the bins run from dist/.
  const root = packageRoot(resolved, packageName);
  const main = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { main?: string }).main ?? './dist/index.js';
  const path = join(root, dirname(main), relativePath);
  if (!existsSync(path)) throw new InvalidArgumentError(`${path} is missing: build ${packageName} first ("make build")`);
  return path;
}

/** The directory of the package.json named `name` at or above `file`. */
function packageRoot(file: string, name: string): string {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === name) return dir;
  }
  throw new InvalidArgumentError(`no package.json of ${name} above ${file}`);
}

export interface ReadyProcess<T> {
  readonly child: ChildProcess;
  readonly ready: T;
  /** Everything the process wrote on stderr so far. */
  stderr(): string;
}

/** Runs `node script args` (in `env`, default this process's) and waits for the JSON line it prints when ready. */
export async function spawnReady<T>(
  script: string,
  args: readonly string[],
  timeoutMs = 20_000,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ReadyProcess<T>> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const ready = await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new DevkitError('ERR_PROCESS_NOT_READY', `${script} did not get ready in ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line) as T);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new DevkitError('ERR_PROCESS_NOT_READY', `${script} exited with ${String(code)} before getting ready: ${stderr}`));
    });
  });
  return { child, ready, stderr: () => stderr };
}
