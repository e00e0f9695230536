import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest, createServer as createHttpsServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nitroEnclave } from '@nitro-datakey/enclave';
import { AttestationVerifier } from '@nitro-datakey/shared';
import { attestedAgent, type AttestedAgentOptions } from '@nitro-datakey/shared/attested-agent';
import { loadOrCreateTls, startStack, type Stack } from '@nitro-datakey/devkit';
import { freePort, stackEnclaveConfig } from '../../support/index.js';

/*
 * The https.Agent variant of attestedFetch: the app under `nitro-enclave run` behind its attested front
 * in TLS mode (a key made in the enclave, attested on request). Accepted with the right PCRs; refused
 * for a wrong PCR set, an old document, and a TLS-terminating proxy in between (its key is not the
 * attested one); no request reaches the app before the attestation held.
 */
let stack: Stack;
let dir: string;
let frontPort: number;
let pcrs: Record<number, string>;
let appRequests = 0;
let mitm: Server;
let mitmPort: number;
const signals = new EventEmitter();
let running: Promise<number>;

/** GET `path` through `agent`; the body, or the error's code. */
function get(port: number, path: string, options: Partial<AttestedAgentOptions>): Promise<string> {
  const agent = attestedAgent({ verifier: new AttestationVerifier({ trustedRootFingerprints: [stack.pki.rootFingerprint] }), pcrSets: [pcrs], ...options });
  return new Promise((resolve) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve(body));
    });
    req.on('error', (e: Error & { code?: string }) => resolve(e.code ?? e.message));
    req.end();
  }).finally(() => agent.destroy()) as Promise<string>;
}

beforeAll(async () => {
  stack = await startStack();
  dir = mkdtempSync(join(tmpdir(), 'ndk-attested-agent-'));
  const appPort = await freePort();
  frontPort = await freePort();
  const app = `require('http').createServer((q, s) => s.end('hello over attested TLS ' + q.url)).listen(${appPort}, '127.0.0.1')`;
  writeFileSync(
    join(dir, 'enclave.json'),
    JSON.stringify({
      ...stackEnclaveConfig(stack, dir),
      attestedHttp: { listen: `tcp:127.0.0.1:${frontPort}`, upstream: `http://127.0.0.1:${appPort}`, tls: true },
      run: { command: [process.execPath, '-e', app] },
    }),
  );
  running = nitroEnclave(['run', '--config', join(dir, 'enclave.json')], {
    io: { stdout: () => undefined, stderr: () => undefined, readStdin: async () => new Uint8Array(0) },
    signals: signals as unknown as NodeJS.Process,
    openNsm: () => stack.nsm,
  });
  pcrs = {};
  for (const index of [0, 1, 2]) pcrs[index] = Buffer.from((await stack.nsm.describePcr(index)).value).toString('hex');
  // A TLS-terminating proxy with a key of its own, forwarding every request to the front.
  const tls = await loadOrCreateTls(join(dir, 'mitm'), new Date());
  mitm = createHttpsServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    appRequests++;
    const out = httpsRequest({ host: '127.0.0.1', port: frontPort, path: req.url, method: req.method, rejectUnauthorized: false }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    out.on('error', () => res.writeHead(502).end());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => mitm.listen(0, '127.0.0.1', resolve));
  mitmPort = (mitm.address() as { port: number }).port;
  for (let i = 0; i < 100; i++) {
    if ((await get(frontPort, '/ready', {})).startsWith('hello')) break;
    await new Promise((r) => setTimeout(r, 50));
  }
}, 60_000);

afterAll(async () => {
  signals.emit('SIGTERM');
  await running;
  await new Promise((resolve) => mitm?.close(resolve));
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('attestedAgent against an app under nitro-enclave run (attested TLS)', () => {
  it('accepts the enclave with the right PCRs and reaches the app over TLS that ends in the enclave', async () => {
    expect(await get(frontPort, '/data', {})).toBe('hello over attested TLS /data');
  });

  it('refuses a wrong PCR set, and accepts one of several (a roll-over)', async () => {
    const wrong = { 0: 'ab'.repeat(48) };
    expect(await get(frontPort, '/data', { pcrSets: [wrong] })).toBe('ERR_ATTESTED_FETCH_PCRS');
    expect(await get(frontPort, '/data', { pcrSets: [wrong, pcrs] })).toBe('hello over attested TLS /data');
  });

  it('refuses an old document', async () => {
    const later = new AttestationVerifier({ trustedRootFingerprints: [stack.pki.rootFingerprint], clock: () => new Date(Date.now() + 120_000) });
    expect(await get(frontPort, '/data', { verifier: later, maxAgeMs: 60_000 })).toBe('ERR_ATTESTATION_STALE');
  });

  it('refuses a TLS-terminating proxy in between: the key on the connection is not the attested one, and nothing is sent', async () => {
    const before = appRequests;
    expect(await get(mitmPort, '/secret-request', {})).toBe('ERR_ATTESTATION_PUBLIC_KEY_MISMATCH');
    // Only the attestation request went through the proxy; the request itself was never written.
    expect(appRequests - before).toBe(1);
  });

  it('refuses a server with no attestation endpoint', async () => {
    const tls = await loadOrCreateTls(join(dir, 'plain'), new Date());
    const plain = createHttpsServer({ key: tls.key, cert: tls.cert }, (_req, res) => res.writeHead(404).end());
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      expect(await get((plain.address() as { port: number }).port, '/data', {})).toBe('ERR_ATTESTED_FETCH_MISSING');
    } finally {
      await new Promise((resolve) => plain.close(resolve));
    }
  });
});
