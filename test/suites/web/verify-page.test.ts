import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AWS_NITRO_ROOT_G1_SHA256 } from '@nitro-datakey/shared';
import {
  attestationCases,
  chromiumSkipReason,
  launchChromium,
  projectRoot,
  readVector,
  startVerifyPage,
  vectorsDir,
  vectorsSkipReason,
} from '../../support/index.js';

/*
 * Issue 24's second point: the page `nitro-datakey verify --serve` serves, in headless Chromium. A
 * real document dropped in as a file, a mutant pasted as base64; the screenshot of the first is the
 * README's when NITRO_DATAKEY_UPDATE_SCREENSHOT=1.
 */
const VECTOR = 'base_nitro_validator_2024.cbor';
/** A debug-mode document, and the one the mutant set is made from. */
const DEBUG_VECTOR = 'evervault_ga.cbor';
const skipReason = vectorsSkipReason(`attestation/${VECTOR}`, `attestation/${DEBUG_VECTOR}`) ?? chromiumSkipReason();
const title = `the verifier page in headless Chromium${skipReason ? ` (${skipReason})` : ''}`;

const text = (tab: Page, selector: string): Promise<string> => tab.$eval(selector, (node) => node.textContent ?? '');

interface IndexEntry {
  readonly file: string;
  readonly module_id: string;
  readonly timestamp_ms: number;
  readonly pcrs: Record<string, string>;
}

function indexEntry(file: string): IndexEntry {
  const index = JSON.parse(readFileSync(join(vectorsDir(), 'attestation', 'index.json'), 'utf8')) as IndexEntry[];
  return index.find((e) => e.file === file) as IndexEntry;
}

/** Sets a form field's value as pasting would; runs in the page (passed whole, it may use nothing outside itself). */
const setValue = (node: unknown, value: string): void => {
  (node as { value: string }).value = value;
};

async function waitForVerdict(tab: Page): Promise<string> {
  await tab.waitForSelector('#verdict:not([data-verdict=""])', { timeout: 20_000 });
  return tab.$eval('#verdict', (node) => node.getAttribute('data-verdict') ?? '');
}

describe.skipIf(skipReason !== undefined)(title, () => {
  let page: Awaited<ReturnType<typeof startVerifyPage>>;
  let chrome: Awaited<ReturnType<typeof launchChromium>>;
  let tab: Page;
  let scratch: string;
  const requests: string[] = [];

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'ndk-page-'));
    page = await startVerifyPage();
    chrome = await launchChromium();
    tab = await chrome.browser.newPage();
    await tab.setViewport({ width: 1100, height: 900 });
    tab.on('request', (request) => requests.push(request.url()));
    await tab.goto(page.url);
  }, 60_000);

  afterAll(async () => {
    await chrome?.close();
    await page?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('verifies a real document dropped in as a file, and draws its chain, PCRs and fields', async () => {
    const input = await tab.$('#file');
    await input?.uploadFile(join(vectorsDir(), 'attestation', VECTOR));
    expect(await waitForVerdict(tab)).toBe('accepted');
    const entry = indexEntry(VECTOR);
    expect(await text(tab, '#verdict')).toBe(`VALID as of ${new Date(entry.timestamp_ms).toISOString()}`);
    const certs = await tab.$$eval('#chain .cert', (items) =>
      items.map((item) => [item.querySelector('.cert-role')?.textContent, item.querySelector('.cert-subject')?.textContent]),
    );
    // The four certificates of the cabundle, root first, and the leaf that signed.
    expect(certs).toHaveLength(5);
    expect(certs[0]).toEqual(['root (cabundle[0])', 'C=US, O=Amazon, OU=AWS, CN=aws.nitro-enclaves']);
    expect(certs[4]?.[0]).toBe('leaf: signed this document');
    expect(await text(tab, '#chain .cert:first-child')).toContain(`SHA-256 ${AWS_NITRO_ROOT_G1_SHA256}`);
    // Every validity bar holds the verification time.
    expect(await tab.$$eval('#chain .bar.outside', (bars) => bars.length)).toBe(0);
    expect(await text(tab, '#pcrs tr[data-pcr="0"] .pcr-value')).toBe(entry.pcrs['0']);
    expect(await text(tab, '#pcrs tr[data-pcr="0"] .pcr-name')).toBe('enclave image file');
    expect(await text(tab, '#fields')).toContain(entry.module_id);
    expect(await tab.$eval('#rule', (node) => node.hasAttribute('hidden'))).toBe(true);

    const png = await tab.screenshot({ fullPage: true });
    expect(Buffer.from(png).subarray(1, 4).toString()).toBe('PNG');
    writeFileSync(join(scratch, 'verify-page.png'), png);
    if (process.env['NITRO_DATAKEY_UPDATE_SCREENSHOT'] === '1') writeFileSync(join(projectRoot(), 'docs/verify-page.png'), png);
  });

  it('shows the rule a pasted mutant breaks', async () => {
    const mutant = attestationCases().find((c) => c.name === `${DEBUG_VECTOR}: a PCR changed`);
    await tab.$eval('#text', setValue, mutant?.document ?? '');
    await tab.click('#verify');
    expect(await waitForVerdict(tab)).toBe('rejected');
    expect(await text(tab, '#rule .rule-code')).toBe('ERR_ATTESTATION_SIGNATURE');
    expect(await text(tab, '#rule .rule-meaning')).toContain('payload was changed after signing');
    // The chain still drawn, the changed PCR shown as the document has it.
    expect(await tab.$$eval('#chain .cert', (items) => items.length)).toBe(5);
    expect(await text(tab, '#pcrs tr[data-pcr="0"] .pcr-value')).toBe('07'.repeat(48));
  });

  it('flags a debug-mode document: PCR0-2 zero', async () => {
    await tab.$eval('#text', setValue, Buffer.from(readVector(`attestation/${DEBUG_VECTOR}`)).toString('base64'));
    await tab.click('#verify');
    expect(await waitForVerdict(tab)).toBe('accepted');
    expect(await tab.$$eval('#pcrs .flag', (flags) => flags.map((flag) => flag.closest('tr')?.getAttribute('data-pcr')))).toEqual(['0', '1', '2']);
    expect(await text(tab, '#fields')).toContain('yes: PCR0-2 are zero');
  });

  it('says why a verification "now" fails for a stored document, and flags the expired leaf', async () => {
    await tab.$eval('#text', setValue, Buffer.from(readVector(`attestation/${VECTOR}`)).toString('hex'));
    await tab.click('input[name=at][value=now]');
    await tab.click('#verify');
    expect(await waitForVerdict(tab)).toBe('rejected');
    expect(await text(tab, '#rule .rule-code')).toBe('ERR_ATTESTATION_CERT_EXPIRED');
    expect(await text(tab, '#rule .rule-meaning')).toContain('verify a stored document as of its own time');
    expect(await tab.$$eval('#chain .bar.outside', (bars) => bars.length)).toBeGreaterThanOrEqual(1);
    await tab.click('input[name=at][value=document]');
  });

  it('refuses what is not a document, with a code', async () => {
    await tab.$eval('#text', setValue, 'not a document!');
    await tab.click('#verify');
    expect(await waitForVerdict(tab)).toBe('rejected');
    expect(await text(tab, '#rule .rule-code')).toBe('ERR_INVALID_ARGUMENT');
  });

  it('sends nothing anywhere: the page may not make a request, and made none but its own files', async () => {
    const attempt = await tab.evaluate(() =>
      fetch('http://127.0.0.1:9/collect', { method: 'POST', body: 'x' }).then(
        () => 'sent',
        () => 'blocked',
      ),
    );
    expect(attempt).toBe('blocked');
    const origin = new URL(page.url).origin;
    expect(requests.length).toBeGreaterThanOrEqual(3);
    expect(requests.filter((url) => !url.startsWith(origin) && !url.startsWith('data:'))).toEqual([]);
  });
});
