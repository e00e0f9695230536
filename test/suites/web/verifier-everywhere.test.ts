import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type AttestationCase,
  attestationCases,
  chromiumSkipReason,
  launchChromium,
  projectRoot,
  startVerifyPage,
  vectorsSkipReason,
} from '../../support/index.js';

/*
 * Issue 24's first point: one verifier, the same verdicts everywhere. Every real vector and the
 * mutant set go through (1) AttestationVerifier on node:crypto, (2) WebAttestationVerifier in Node
 * with every Node built-in import refused and no Buffer, (3) the browser bundle in headless Chromium.
 */
interface CaseResult {
  readonly name: string;
  readonly verdict: 'valid' | 'rejected';
  readonly code?: string;
  readonly typed?: boolean;
  readonly ms: number;
  readonly [field: string]: unknown;
}

const HERE = join(projectRoot(), 'test/suites/web');
const skipReason = vectorsSkipReason('attestation/index.json') ?? chromiumSkipReason();
const title = `the verifier on node:crypto, on WebCrypto without Node built-ins, and in Chromium${skipReason ? ` (${skipReason})` : ''}`;

function inNode(cases: readonly AttestationCase[], specifier: string, className: string, blockBuiltins: boolean): CaseResult[] {
  const args = [...(blockBuiltins ? ['--import', join(HERE, 'block-node-builtins.mjs')] : []), join(HERE, 'verify-cases-cli.mjs'), specifier, className];
  const run = spawnSync(process.execPath, args, { input: JSON.stringify(cases), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`verify-cases-cli failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout) as CaseResult[];
}

/** Another JavaScript runtime (from the suites' devDependencies), running the browser/worker file. */
function inRuntime(runtime: 'deno' | 'bun', cases: readonly AttestationCase[]): CaseResult[] {
  const bundle = pathToFileURL(join(projectRoot(), 'shared/dist/web/nitro-verify.js')).href;
  const cli = join(HERE, 'verify-cases-cli.mjs');
  const args = runtime === 'deno' ? ['run', '--allow-read', '--no-prompt', cli, bundle, 'WebAttestationVerifier'] : [cli, bundle, 'WebAttestationVerifier'];
  const run = spawnSync(runtimeBin(runtime), args, { input: JSON.stringify(cases), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`${runtime} failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout) as CaseResult[];
}

const runtimeBin = (runtime: 'deno' | 'bun'): string => join(projectRoot(), 'node_modules/.bin', runtime);
const runtimeSkip = (runtime: 'deno' | 'bun'): string =>
  existsSync(runtimeBin(runtime)) ? '' : ` (SKIPPED: no ${runtime} in node_modules/.bin: npm ci installs it, a devDependency of the suites)`;

/** What must be equal across runtimes: everything but the time it took. */
const verdicts = (results: readonly CaseResult[]) => results.map(({ ms: _ms, ...rest }) => rest);

describe.skipIf(skipReason !== undefined)(title, () => {
  let cases: AttestationCase[];
  let node: CaseResult[];
  let web: CaseResult[];
  let bundle: CaseResult[];
  let chromium: CaseResult[];

  beforeAll(async () => {
    cases = attestationCases();
    node = inNode(cases, '@nitro-datakey/shared/attestation', 'AttestationVerifier', false);
    web = inNode(cases, '@nitro-datakey/shared/web', 'WebAttestationVerifier', true);
    // The browser/worker file itself, as a worker-style runtime (no Node built-ins) loads it.
    bundle = inNode(cases, pathToFileURL(join(projectRoot(), 'shared/dist/web/nitro-verify.js')).href, 'WebAttestationVerifier', true);
    const page = await startVerifyPage();
    const chrome = await launchChromium();
    try {
      const tab = await chrome.browser.newPage();
      await tab.goto(page.url);
      const source = readFileSync(join(HERE, 'verify-cases.mjs'), 'utf8').replace('export async function', 'async function');
      chromium = (await tab.evaluate(`(${source.trim()})('/nitro-verify.js', 'WebAttestationVerifier', ${JSON.stringify(cases)})`)) as CaseResult[];
    } finally {
      await chrome.close();
      await page.stop();
    }
  }, 120_000);

  it('runs every real vector and every mutant', () => {
    expect(cases.length).toBeGreaterThanOrEqual(50);
    expect(cases.filter((c) => c.wanted === 'valid').length).toBeGreaterThanOrEqual(11);
    expect(node).toHaveLength(cases.length);
  });

  it('gives each case the verdict the rules call for, on node:crypto', () => {
    const got = node.map((r, i) => [
      r.name,
      (cases[i] as AttestationCase).wanted === 'rejected' && r.verdict === 'rejected' ? 'rejected' : (r.code ?? r.verdict),
    ]);
    expect(got).toEqual(cases.map((c) => [c.name, c.wanted]));
    expect(node.every((r) => r.verdict === 'valid' || r.typed === true)).toBe(true);
  });

  it('gives identical verdicts, codes and fields on WebCrypto with Node built-ins blocked', () => {
    expect(verdicts(web)).toEqual(verdicts(node));
  });

  it('gives identical verdicts from the bundled browser/worker file, run with Node built-ins blocked', () => {
    expect(verdicts(bundle)).toEqual(verdicts(node));
  });

  it('gives identical verdicts, codes and fields in headless Chromium, from the browser bundle', () => {
    expect(verdicts(chromium)).toEqual(verdicts(node));
  });

  it.skipIf(runtimeSkip('deno') !== '')(`gives identical verdicts in Deno, from the browser/worker file${runtimeSkip('deno')}`, () => {
    expect(verdicts(inRuntime('deno', cases))).toEqual(verdicts(node));
  });

  it.skipIf(runtimeSkip('bun') !== '')(`gives identical verdicts in Bun, from the browser/worker file${runtimeSkip('bun')}`, () => {
    expect(verdicts(inRuntime('bun', cases))).toEqual(verdicts(node));
  });

  it('the blocking is real: the node:crypto verifier cannot load under it', () => {
    const args = [
      '--import',
      join(HERE, 'block-node-builtins.mjs'),
      join(HERE, 'verify-cases-cli.mjs'),
      '@nitro-datakey/shared/attestation',
      'AttestationVerifier',
    ];
    const run = spawnSync(process.execPath, args, { input: '[]', encoding: 'utf8' });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('ERR_BLOCKED_BUILTIN: node:crypto');
  });
});
