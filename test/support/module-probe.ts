import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/*
 * What a Node process loads, measured from outside: an ESM resolve hook logs every module URL, and at
 * exit the process's require cache (CommonJS) and resident set size are appended. For the boundary
 * tests (which modules a process loads) and the start-up benchmark (how many, how long, how much memory).
 */

export interface Probe {
  /** Milliseconds from spawn to the first line on stdout (a version, a ready line) or to exit. */
  readonly ms: number;
  /** Every module URL or path the process loaded up to its exit. */
  readonly modules: readonly string[];
  /** Resident set size in bytes at the first stdout line (services) or at exit. */
  readonly rssBytes: number;
}

const HOOK = `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(process.env.NDK_LOAD_LOG, result.url + '\\n');
  return result;
}`;

/** RSS at exit only: no resolve hook, whose loader thread would add its own memory to the count. */
const RSS_ONLY = `import { appendFileSync } from 'node:fs';
process.on('exit', () => appendFileSync(process.env.NDK_LOAD_LOG, 'RSS ' + process.memoryUsage().rss + '\\n'));
`;

const REGISTER = `import { register, createRequire } from 'node:module';
import { appendFileSync } from 'node:fs';
register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOK)}`)});
process.on('exit', () => {
  const cjs = Object.keys(createRequire(import.meta.url).cache);
  appendFileSync(process.env.NDK_LOAD_LOG, cjs.join('\\n') + '\\nRSS ' + process.memoryUsage().rss + '\\n');
});
`;

/** VmRSS of a live process in bytes (Linux), or 0. */
function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Runs `node [--import probe] ...args` in `cwd`; resolves once it has printed its first stdout line
 * (then SIGTERM, for a service) and exited. `probe: false` measures the time alone, without the hook;
 * `probe: 'rss'` the memory alone (no resolve hook, whose loader thread would count).
 */
export async function probeNode(args: readonly string[], options: { cwd: string; probe?: boolean | 'rss'; env?: NodeJS.ProcessEnv }): Promise<Probe> {
  const dir = mkdtempSync(join(tmpdir(), 'ndk-probe-'));
  try {
    const log = join(dir, 'loads.txt');
    writeFileSync(log, '');
    writeFileSync(join(dir, 'register.mjs'), REGISTER);
    writeFileSync(join(dir, 'rss.mjs'), RSS_ONLY);
    const probe = options.probe ?? true;
    const preload = probe === 'rss' ? ['--import', join(dir, 'rss.mjs')] : probe ? ['--import', join(dir, 'register.mjs')] : [];
    const start = performance.now();
    const child = spawn(process.execPath, [...preload, ...args], {
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env, NDK_LOAD_LOG: log, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let ms = 0;
    let rssAtLine = 0;
    await new Promise<void>((resolve) => {
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', () => {
        ms = performance.now() - start;
        rssAtLine = rssOf(child.pid ?? 0);
        resolve();
      });
      void exited.then(() => resolve());
    });
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const code = await exited;
    if (ms === 0) throw new Error(`node ${args.join(' ')} printed nothing (exit ${String(code)}): ${stderr}`);
    const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    const rssLine = lines.find((l) => l.startsWith('RSS '));
    return {
      ms,
      modules: lines.filter((l) => !l.startsWith('RSS ')),
      rssBytes: rssAtLine || (rssLine ? Number(rssLine.slice(4)) : 0),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
