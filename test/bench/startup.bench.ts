import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, progress, target } from './harness.js';
import { projectRoot } from '../support/index.js';
import { probeNode } from '../support/module-probe.js';

/*
 * Start-up of every bin: time from spawn to its `--version` line, and for the services to their ready
 * line; modules loaded and resident memory at that moment. What a process loads is what it pays for at
 * every start (a supervisor restart, an enclave boot), so the cut between packages shows here.
 */
const BINS = {
  'nitro-parent-proxy': 'parent-proxy/bin/nitro-parent-proxy.js',
  'nitro-enclave': 'enclave/bin/nitro-enclave.js',
  'nitro-datakey': 'shared/commands/bin/nitro-datakey.js',
  'nitro-sim': 'test/devkit/bin/nitro-sim.js',
  'nitro-kms-local': 'test/devkit/bin/nitro-kms-local.js',
} as const;

const RUNS = 7;
const MB = 1024 * 1024;

interface Row {
  readonly name: string;
  readonly ms: number;
  readonly modules: number;
  readonly rssMb: number;
}

/** A bin's path in `root`; where the layout was older (nitro-datakey lived in shared/bin), its old path. */
function binIn(root: string, path: string): string {
  const old = path === 'shared/commands/bin/nitro-datakey.js' ? 'shared/bin/nitro-datakey.js' : path;
  return existsSync(join(root, path)) ? path : old;
}

/** The checkout whose bins are measured: this one, or NDK_BENCH_ROOT (a built checkout of another commit, for before/after). */
const ROOT = process.env['NDK_BENCH_ROOT'] ?? projectRoot();

async function measure(name: string, args: readonly string[]): Promise<Row> {
  progress(name);
  const cwd = ROOT;
  await probeNode(args, { cwd, probe: false }); // warm the file cache
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push((await probeNode(args, { cwd, probe: false })).ms);
  const probed = await probeNode(args, { cwd });
  const rss: number[] = [];
  for (let i = 0; i < 3; i++) rss.push((await probeNode(args, { cwd, probe: 'rss' })).rssBytes);
  return { name, ms: median(times), modules: new Set(probed.modules).size, rssMb: median(rss) / MB };
}

export async function startupBenchmarks(): Promise<void> {
  const rows: Row[] = [];
  // The floor: Node itself starting an ES module that prints one line and loads nothing.
  const empty = mkdtempSync(join(tmpdir(), 'ndk-bench-floor-'));
  writeFileSync(join(empty, 'empty.mjs'), "console.log('ready');\n");
  const floor = await measure('floor: node on an empty ES module', [join(empty, 'empty.mjs')]);
  rmSync(empty, { recursive: true, force: true });
  rows.push(floor);
  for (const [bin, path] of Object.entries(BINS)) rows.push(await measure(`${bin} --version`, [binIn(ROOT, path), '--version']));
  const proxyReady = await measure('nitro-parent-proxy, to its ready line (one TCP route)', [
    BINS['nitro-parent-proxy'],
    '--route',
    'tcp:127.0.0.1:0=127.0.0.1:9',
    '--allow',
    '127.0.0.1:9',
  ]);
  rows.push(proxyReady);
  rows.push(await measure('nitro-kms-local, to its ready line', [BINS['nitro-kms-local'], '--quiet']));
  const pki = mkdtempSync(join(tmpdir(), 'ndk-bench-pki-'));
  try {
    spawnSync(process.execPath, [BINS['nitro-sim'], 'pki', 'init', join(pki, 'root')], { cwd: ROOT });
    rows.push(await measure('nitro-sim pki show (a dev kit command that needs no enclave)', [BINS['nitro-sim'], 'pki', 'show', join(pki, 'root'), '--json']));
  } finally {
    rmSync(pki, { recursive: true, force: true });
  }
  console.log(`\n## Start-up: spawn to first line (median of ${RUNS}), modules loaded, RSS then${ROOT === projectRoot() ? '' : ` (checkout ${ROOT})`}\n`);
  console.log('| process | ms | modules | RSS MB |');
  console.log('|---|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.name} | ${r.ms.toFixed(1)} | ${r.modules} | ${r.rssMb.toFixed(1)} |`);
  target('the parent proxy ready within 150 ms', proxyReady.ms <= 150);
  target('the parent proxy under 45 MB RSS when ready', proxyReady.rssMb < 45);
  console.log(
    `- the floor on this machine: ${floor.ms.toFixed(0)} ms and ${floor.rssMb.toFixed(1)} MB for Node alone; the proxy adds ` +
      `${(proxyReady.ms - floor.ms).toFixed(0)} ms and ${(proxyReady.rssMb - floor.rssMb).toFixed(1)} MB`,
  );
}
