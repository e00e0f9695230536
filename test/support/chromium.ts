import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'puppeteer-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

/** The installed Chromium (CHROMIUM_PATH, or Debian's `chromium` package): nothing is ever downloaded. */
function chromiumPath(): string | undefined {
  const fromEnv = process.env['CHROMIUM_PATH'];
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  return CANDIDATES.find((path) => existsSync(path));
}

export function chromiumSkipReason(): string | undefined {
  return chromiumPath() === undefined ? 'SKIPPED: no Chromium found (install Debian\'s "chromium" package, as .ci/run does, or set CHROMIUM_PATH)' : undefined;
}

/** A headless Chromium with a profile of its own, removed again by `close()`. */
export async function launchChromium(): Promise<{ browser: Browser; close(): Promise<void> }> {
  const { default: puppeteer } = await import('puppeteer-core');
  const profile = mkdtempSync(join(tmpdir(), 'ndk-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: chromiumPath() as string,
    headless: true,
    userDataDir: profile,
    // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
  return {
    browser,
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
