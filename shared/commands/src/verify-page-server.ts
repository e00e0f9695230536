import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { limitHttpServer, type RunningService, stopHttpServer } from '@nitro-datakey/shared/cli';

/**
 * The verifier page, served on loopback only. The page verifies in the browser; the server hands out
 * four static files and nothing else, and its Content-Security-Policy forbids the page every request
 * (connect-src 'none', form-action 'none'), so a pasted document cannot leave the browser.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'none'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface PageFile {
  readonly type: string;
  readonly body: Uint8Array;
}

// Relative to the package root: the same from src/ (tests on sources) and dist/.
const PAGE_DIR = new URL('../dist/page/', import.meta.url);

async function loadFiles(): Promise<Map<string, PageFile>> {
  // The verifier alone, for scripts and consoles that want it without the page: the same bundle `/web` resolves to in browsers.
  const verifierBundle = new URL('../web/nitro-verify.js', import.meta.resolve('@nitro-datakey/shared/web'));
  const files: [string, URL, string][] = [
    ['/', new URL('index.html', PAGE_DIR), 'text/html; charset=utf-8'],
    ['/app.js', new URL('app.js', PAGE_DIR), 'text/javascript; charset=utf-8'],
    ['/style.css', new URL('style.css', PAGE_DIR), 'text/css; charset=utf-8'],
    ['/nitro-verify.js', verifierBundle, 'text/javascript; charset=utf-8'],
  ];
  const out = new Map<string, PageFile>();
  for (const [path, url, type] of files) {
    try {
      out.set(path, { type, body: new Uint8Array(await readFile(url)) });
    } catch (cause) {
      throw new Error(`the verifier page is not built (${fileURLToPath(url)} is missing): run the build (make build)`, { cause });
    }
  }
  return out;
}

function answer(files: ReadonlyMap<string, PageFile>, request: IncomingMessage, response: ServerResponse): void {
  response.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
  response.setHeader('x-content-type-options', 'nosniff');
  response.setHeader('referrer-policy', 'no-referrer');
  response.setHeader('cache-control', 'no-store');
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('only GET\n');
    return;
  }
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  const file = files.get(path === '/index.html' ? '/' : path);
  if (file === undefined) {
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  response.writeHead(200, { 'content-type': file.type, 'content-length': file.body.byteLength });
  response.end(request.method === 'HEAD' ? undefined : file.body);
}

/** Starts the page server on 127.0.0.1:`port` (0: any free port). */
export async function startVerifyPageServer(port: number): Promise<RunningService> {
  const files = await loadFiles();
  const server = createServer((request, response) => answer(files, request, response));
  limitHttpServer(server, { maxConnections: 64, requestTimeoutMs: 10_000 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}/`;
  return { ready: { url }, close: () => stopHttpServer(server, 1_000) };
}
