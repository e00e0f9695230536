import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonLogger, routeProcessWarnings } from '@nitro-datakey/shared/cli';

/** What a demo's body gets: a private work directory, timed steps, and children that are cleaned up. */
export interface DemoHarness {
  /** A fresh 0700 directory, removed at the end (it holds keys). */
  readonly dir: string;
  /** Runs one titled step; its time and detail go into the report, a failure ends the demo. */
  step<T>(title: string, action: () => Promise<T>, detail?: (result: T) => string): Promise<T>;
  /** Runs a command to completion as a child the cleanup knows about (an interrupt stops it too). */
  run(command: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }>;
  /** A long-running child to stop at the end. */
  track(child: ChildProcess): void;
  /** One line on how the steps went (each step's own lines are printed as it starts and ends). */
  report(): string;
}

/**
 * Each step prints a line as it starts and one as it ends, so a hang or a failure shows where it is
 * while it happens. On a terminal the end line replaces the start line; in a log both stay.
 */
function stepPrinter(out: NodeJS.WriteStream = process.stdout): { start(title: string): void; end(line: string): void } {
  const live = out.isTTY === true;
  return {
    start: (title) => void out.write(live ? `  ..    ${title}` : `  ..    ${title}\n`),
    end: (line) => void out.write(live ? `\r\x1b[K${line}\n` : `${line}\n`),
  };
}

/**
 * Runs a demo's body: prints its report, stops every child and removes the work directory however it
 * ends (success, failure, Ctrl-C), and sets the exit status (0, 1, or 128+signal).
 */
export async function runDemo(prefix: string, body: (demo: DemoHarness) => Promise<void>): Promise<void> {
  // Warnings go where every bin sends them, as JSON lines; only warnings and errors are shown (the
  // SDK's Node-version notice is an info line), so stderr stays empty on success.
  routeProcessWarnings(jsonLogger((line) => process.stderr.write(line), { minLevel: 'warn' }));
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const children: ChildProcess[] = [];
  const printer = stepPrinter();
  const begun = performance.now();
  let passed = 0;
  let failed = false;

  const demo: DemoHarness = {
    dir,
    async step(title, action, detail) {
      const started = performance.now();
      printer.start(title);
      try {
        const result = await action();
        passed++;
        printer.end(`  ok    ${title.padEnd(70)} ${(performance.now() - started).toFixed(0).padStart(6)} ms${detail ? `  ${detail(result)}` : ''}`);
        return result;
      } catch (e) {
        printer.end(`  FAIL  ${title}: ${(e as Error).message}`);
        failed = true;
        throw e;
      }
    },
    run(command, args, env = process.env) {
      return new Promise((resolve, reject) => {
        const child = execFile(command, [...args], { env }, (error, stdout, stderr) =>
          error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve({ stdout, stderr }),
        );
        children.push(child);
      });
    },
    track: (child) => void children.push(child),
    report: () => `${passed} steps ok${failed ? ', one failed' : ''} in ${((performance.now() - begun) / 1000).toFixed(1)} s`,
  };

  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> => {
    cleaning ??= (async () => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
      await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
      rmSync(dir, { recursive: true, force: true });
    })();
    return cleaning;
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void cleanup().then(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }

  try {
    await body(demo);
  } catch (e) {
    if (!failed) console.log(`  FAIL  ${(e as Error).message}`);
    failed = true;
    console.log(`\n${demo.report()}`);
    console.error(`\ndemo failed: ${(e as Error).stack ?? String(e)}`);
    process.exitCode = 1;
  } finally {
    await cleanup();
  }
}
