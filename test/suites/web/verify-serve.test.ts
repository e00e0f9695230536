import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot, startVerifyPage } from '../../support/index.js';

/* `nitro-datakey verify --serve` as a server and as a command line, without a browser. */
const BIN = join(projectRoot(), 'shared/commands/bin/nitro-datakey.js');

describe('nitro-datakey verify --serve', () => {
  let page: Awaited<ReturnType<typeof startVerifyPage>>;

  beforeAll(async () => {
    page = await startVerifyPage();
  });

  afterAll(async () => {
    expect(await page?.stop()).toBe(0);
  });

  it('listens on loopback and serves the page, its script, its style and the verifier bundle', async () => {
    expect(page.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const html = await fetch(page.url);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await html.text()).toContain('<script type="module" src="app.js">');
    for (const path of ['app.js', 'style.css', 'nitro-verify.js']) expect((await fetch(new URL(path, page.url))).status).toBe(200);
    const bundle = await (await fetch(new URL('nitro-verify.js', page.url))).text();
    expect(bundle).toContain('WebAttestationVerifier');
  });

  it('forbids the page every request and every frame, and answers nothing else', async () => {
    const csp = (await fetch(page.url)).headers.get('content-security-policy') ?? '';
    expect(csp).toContain("connect-src 'none'");
    expect(csp).toContain("form-action 'none'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect((await fetch(new URL('../../etc/passwd', page.url))).status).toBe(404);
    expect((await fetch(new URL('/src/app.ts', page.url))).status).toBe(404);
    const post = await fetch(page.url, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await fetch(page.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it.each([
    [['verify', '--serve', 'doc.cbor'], '--serve takes no FILE'],
    [['verify', '--serve', '--port', '70000'], '--port must be a port number'],
    [['verify', '--serve', '--port', 'http'], '--port must be a port number'],
    [['verify', 'doc.cbor', '--port', '8080'], '--port goes with --serve'],
  ])('%j is a usage error (exit 2): %s', (args, message) => {
    const run = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(message);
  });

  it('says --serve in its help', () => {
    const run = spawnSync(process.execPath, [BIN, 'verify', '--help'], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('nitro-datakey verify --serve [--port N]');
  });
});
