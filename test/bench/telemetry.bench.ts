import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnclaveMetrics, forwardLines, TelemetryLink } from '@nitro-datakey/enclave';
import { configFromValues, startProxy } from '@nitro-datakey/parent-proxy';
import type { Nsm } from '@nitro-datakey/shared';
import { median, progress } from './harness.js';

/*
 * Log forwarding: what it costs the workload and how many lines reach the parent. A workload writes
 * LINES lines of 100 characters as fast as it can; its wall time is measured (1) with its stdout on
 * /dev/null, (2) piped and read by the supervisor's line reader only, (3) piped, read and sent over the
 * telemetry route to the real proxy writing a file, with the rate cap lifted (throughput) and (4) with
 * the default cap of 1000 lines/s (what a flood costs when the parent drops most of it).
 */
const LINES = 200_000;
const ROUNDS = 3;
const WORKLOAD = `const line = 'x'.repeat(99) + '\\n'; let i = 0; const started = process.hrtime.bigint();
function more() { while (i < ${LINES}) { i++; if (!process.stdout.write(line)) return process.stdout.once('drain', more); }
  process.stdout.write('', () => { process.stderr.write(String(Number(process.hrtime.bigint() - started) / 1e6)); }); }
more();`;

/** Runs the workload once; returns its own wall time in ms (written on its stderr when its last line is flushed). */
function workload(stdout: 'devnull' | ((stream: NodeJS.ReadableStream & import('node:stream').Readable) => Promise<void>)): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', WORKLOAD], { stdio: ['ignore', stdout === 'devnull' ? 'ignore' : 'pipe', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const reading = stdout === 'devnull' || !child.stdout ? Promise.resolve() : stdout(child.stdout);
    child.once('error', reject);
    child.once('exit', () => void reading.then(() => resolve(Number(err))));
  });
}

export async function telemetryBenchmarks(): Promise<void> {
  console.log(`\n## Log forwarding: a workload writing ${LINES} lines of 100 characters\n`);
  const dir = mkdtempSync(join(tmpdir(), 'ndk-bench-telemetry-'));
  const nsm = { attest: async () => new Uint8Array(0) } as unknown as Nsm;
  const rows: string[] = [];
  try {
    const devnull: number[] = [];
    const readOnly: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      progress(`round ${r + 1}/${ROUNDS}: /dev/null and read by the supervisor`);
      devnull.push(await workload('devnull'));
      readOnly.push(await workload((s) => forwardLines(s, undefined, () => undefined)));
    }
    const base = median(devnull);
    rows.push(`| stdout to /dev/null (no supervisor reading it) | ${base.toFixed(0)} | ${((LINES / base) * 1000).toFixed(0)} | 1.00 | |`);
    const read = median(readOnly);
    rows.push(
      `| piped, read line by line by the supervisor, not sent | ${read.toFixed(0)} | ${((LINES / read) * 1000).toFixed(0)} | ${(read / base).toFixed(2)} | |`,
    );
    for (const [label, cap] of [
      ['piped and sent over the telemetry route, parent cap lifted', 1_000_000],
      ['piped and sent, parent at its default cap (1000 lines/s)', 1000],
    ] as const) {
      const times: number[] = [];
      let delivered = 0;
      let parentMs = 0;
      for (let r = 0; r < ROUNDS; r++) {
        progress(`round ${r + 1}/${ROUNDS}: ${label}`);
        const output = join(dir, `out-${cap}-${r}.log`);
        const proxy = await startProxy(
          configFromValues({
            routes: [{ listen: 'tcp:127.0.0.1:0', upstream: 'kms.us-east-1.amazonaws.com:443' }],
            telemetry: { listen: `unix:${join(dir, `t-${cap}-${r}.sock`)}`, output, maxLinesPerSecond: cap },
            limits: { shutdownGraceMs: 100 },
          }),
        );
        const link = new TelemetryLink({
          address: proxy.telemetry as string,
          nsm,
          moduleId: 'i-bench-enc0',
          metrics: new EnclaveMetrics(),
          heartbeatMs: 60_000,
        });
        link.start();
        const started = performance.now();
        times.push(await workload((s) => forwardLines(s, undefined, (line) => link.output('stdout', line))));
        await link.flush(30_000);
        await new Promise((resolve) => setTimeout(resolve, 200));
        parentMs = performance.now() - started;
        delivered = readFileSync(output, 'utf8')
          .split('\n')
          .filter((l) => l.includes('"stream":"stdout"')).length;
        link.close();
        await proxy.close();
      }
      const t = median(times);
      const parent = `${delivered} lines reach the parent's file (${((delivered / parentMs) * 1000).toFixed(0)} lines/s, last round)`;
      rows.push(`| ${label} | ${t.toFixed(0)} | ${((LINES / t) * 1000).toFixed(0)} | ${(t / base).toFixed(2)} | ${parent} |`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('| workload stdout | workload ms (median of 3) | workload lines/s | x /dev/null | parent |');
  console.log('|---|---:|---:|---:|---|');
  for (const row of rows) console.log(row);
  console.log('\nThe workload never waits on the parent: lines past the enclave queue (1 MiB) are dropped and counted there,');
  console.log('and lines past the parent cap are counted and dropped by the parent.');
}
