import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The project root (where package-lock.json is). */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package-lock.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** A built entry point under the project root; a clear error when `make build` has not run. */
export function builtScript(relativePath: string): string {
  const path = join(projectRoot(), relativePath);
  if (!existsSync(path)) throw new Error(`${path} is missing: run "make build" first`);
  return path;
}

export interface ReadyProcess<T> {
  readonly child: ChildProcess;
  readonly ready: T;
  /** Everything the process wrote on stderr so far. */
  stderr(): string;
}

/** Runs `node script args` and waits for the JSON line it prints when ready. */
export async function spawnReady<T>(script: string, args: readonly string[], timeoutMs = 20_000): Promise<ReadyProcess<T>> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const ready = await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not get ready in ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line) as T);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${String(code)} before getting ready: ${stderr}`));
    });
  });
  return { child, ready, stderr: () => stderr };
}
