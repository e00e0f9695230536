import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { AttestationVerifier, WebAttestationVerifier } from '@nitro-datakey/shared';
import { chromiumSkipReason, launchChromium, projectRoot, readVector, startVerifyPage, vectorsAvailable } from '../support/index.js';
import { median, printTable, progress, target, type BenchResult } from './harness.js';

const FILE = 'evervault_ga.cbor';
const AT = 1695049410860;
const ROUNDS = 9;
const COLD_PER_ROUND = 20;
const WARM_PER_ROUND = 100;

// Runs in the page: ms per verify of `n` verifications, cold (a new verifier each) or warm (one verifier).
const PAGE_LOOP = `async (b64, at, n, warm) => {
  const lib = await import('/nitro-verify.js');
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const clock = () => new Date(at);
  const kept = new lib.WebAttestationVerifier({ clock });
  await kept.verify(bytes);
  const started = performance.now();
  for (let i = 0; i < n; i++) await (warm ? kept : new lib.WebAttestationVerifier({ clock })).verify(bytes);
  return (performance.now() - started) / n;
}`;

type Measure = (n: number, warm: boolean) => Promise<number>;

async function nodeLoop(
  verify: (v: AttestationVerifier | WebAttestationVerifier) => unknown,
  make: () => AttestationVerifier | WebAttestationVerifier,
): Promise<Measure> {
  const kept = make();
  await verify(kept);
  return async (n, warm) => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await verify(warm ? kept : make());
    return Number(process.hrtime.bigint() - started) / 1e6 / n;
  };
}

/** Interleaved rounds of every runtime's cold and warm verify; each row is the median round. */
async function measure(runtimes: readonly [string, Measure][]): Promise<BenchResult[]> {
  const rows: [string, number, boolean][] = runtimes.flatMap(([name]) => [
    [`${name}: cold (new verifier + verify)`, COLD_PER_ROUND, false] as [string, number, boolean],
    [`${name}: warm (verify again)`, WARM_PER_ROUND, true] as [string, number, boolean],
  ]);
  const samples = rows.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    progress(`round ${round + 1}/${ROUNDS} of ${rows.length} measurements`);
    for (const [i, [, n, warm]] of rows.entries()) samples[i]?.push(await (runtimes[i >> 1] as [string, Measure])[1](n, warm));
  }
  return rows.map(([name, n], i) => ({ name, msPerOp: median(samples[i] ?? []), iterations: n * ROUNDS }));
}

/** The browser build's size, and one document verified in Node (node:crypto and WebCrypto) and in headless Chromium. */
export async function webBenchmarks(): Promise<void> {
  const bundle = readFileSync(join(projectRoot(), 'shared/dist/web/nitro-verify.js'));
  const gzipped = gzipSync(bundle, { level: 9 }).byteLength;
  console.log('\n## The verifier in browsers and workers\n');
  console.log(`- browser build (shared/dist/web/nitro-verify.js, the verifier with cbor-x, minified ESM): ${(bundle.byteLength / 1024).toFixed(1)} kB,`);
  console.log(`  ${(gzipped / 1024).toFixed(1)} kB gzipped (-9)`);
  target('under 60 kB minified and gzipped', gzipped < 60 * 1024);
  if (!vectorsAvailable(`attestation/${FILE}`)) {
    console.log('\nSKIPPED the timings: ../shared/vectors not found (set NITRO_DATAKEY_VECTORS).');
    return;
  }
  const bytes = readVector(`attestation/${FILE}`);
  const clock = () => new Date(AT);
  const runtimes: [string, Measure][] = [
    [
      'Node, node:crypto (AttestationVerifier)',
      await nodeLoop(
        (v) => v.verify(bytes),
        () => new AttestationVerifier({ clock }),
      ),
    ],
    [
      'Node, WebCrypto (WebAttestationVerifier)',
      await nodeLoop(
        (v) => v.verify(bytes),
        () => new WebAttestationVerifier({ clock }),
      ),
    ],
  ];
  const skip = chromiumSkipReason();
  if (skip !== undefined) console.log(`\nChromium row ${skip}`);
  const page = skip === undefined ? await startVerifyPage() : undefined;
  const chrome = skip === undefined ? await launchChromium() : undefined;
  try {
    if (page && chrome) {
      const tab = await chrome.browser.newPage();
      await tab.goto(page.url);
      const b64 = Buffer.from(bytes).toString('base64');
      runtimes.push([
        'headless Chromium, WebCrypto (browser build)',
        (n, warm) => tab.evaluate(`(${PAGE_LOOP})('${b64}', ${AT}, ${n}, ${warm})`) as Promise<number>,
      ]);
    }
    const results = await measure(runtimes);
    printTable(`Verify ${FILE} (4-certificate cabundle) in each runtime`, results, results[0]);
  } finally {
    await chrome?.close();
    await page?.stop();
  }
}
