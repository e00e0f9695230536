/** Tiny benchmark harness. Measurements that are compared run interleaved in rounds, and each reports its median round. */

let suite = 'bench';
let suiteStarted = performance.now();

/**
 * Progress goes to stderr, one line per suite and round as it runs, so a long `make bench` shows where
 * it is; stdout keeps only the tables.
 */
export function startSuite(name: string): void {
  suite = name;
  suiteStarted = performance.now();
  progress('started');
}

export function progress(message: string): void {
  process.stderr.write(`bench ${suite}: ${message} (${((performance.now() - suiteStarted) / 1000).toFixed(1)} s)\n`);
}
export interface BenchResult {
  readonly name: string;
  readonly msPerOp: number;
  readonly iterations: number;
}

export interface BenchCase {
  readonly name: string;
  /** Calls per round. */
  readonly perRound: number;
  readonly fn: () => void;
}

/**
 * Runs `cases` in `rounds` interleaved rounds (case A, B, C, A, B, C, ...) so that machine noise hits
 * every case alike, and returns each case's median ms per call.
 */
export function benchInterleaved(cases: readonly BenchCase[], rounds = 15): BenchResult[] {
  for (const c of cases) for (let i = 0; i < Math.max(5, c.perRound / 5); i++) c.fn();
  const samples = cases.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    progress(`round ${r + 1}/${rounds} of ${cases.length} interleaved measurements`);
    cases.forEach((c, i) => {
      const start = process.hrtime.bigint();
      for (let k = 0; k < c.perRound; k++) c.fn();
      samples[i]?.push(Number(process.hrtime.bigint() - start) / 1e6 / c.perRound);
    });
  }
  return cases.map((c, i) => ({ name: c.name, msPerOp: median(samples[i] ?? []), iterations: c.perRound * rounds }));
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function printTable(title: string, rows: readonly BenchResult[], baseline?: BenchResult): void {
  console.log(`\n## ${title}\n`);
  console.log('| measurement | ms/op (median round) | x baseline | calls |');
  console.log('|---|---:|---:|---:|');
  for (const r of rows) {
    const ratio = baseline ? (r.msPerOp / baseline.msPerOp).toFixed(2) : '';
    console.log(`| ${r.name} | ${r.msPerOp.toFixed(4)} | ${ratio} | ${r.iterations} |`);
  }
}

export function target(label: string, ok: boolean): void {
  console.log(`- target ${label}: ${ok ? 'MET' : 'MISSED'}`);
}

export function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

/** Closed-loop load: `concurrency` callers for `seconds`; requests per second and latency percentiles (ms). */
export async function closedLoop(
  concurrency: number,
  seconds: number,
  call: () => Promise<unknown>,
): Promise<{ rps: number; p50: number; p99: number; calls: number }> {
  progress(`closed loop: ${concurrency} caller(s) for ${seconds} s`);
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now();
        await call();
        latencies.push(performance.now() - t);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / seconds, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), calls: latencies.length };
}
