import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export interface KmsProcess {
  readonly child: ChildProcess;
  readonly ready: { endpoint: string; region: string; account: string; caCertPath?: string };
}

/** The built `nitro-kms-local` entry point (test/dist/src/cli/nitro-kms-local-main.js). */
export function kmsBinPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package-lock.json')) && dirname(dir) !== dir) dir = dirname(dir);
  const bin = join(dir, 'test', 'dist', 'src', 'cli', 'nitro-kms-local-main.js');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run "make build" first`);
  return bin;
}

/** Starts `nitro-kms-local` as a separate process and waits for its ready line. */
export async function spawnLocalKms(args: readonly string[], timeoutMs = 20_000): Promise<KmsProcess> {
  const child = spawn(process.execPath, [kmsBinPath(), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const ready = await new Promise<KmsProcess['ready']>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nitro-kms-local did not get ready in ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line) as KmsProcess['ready']);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nitro-kms-local exited with ${String(code)} before getting ready: ${stderr}`));
    });
  });
  return { child, ready };
}
