import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nitroEnclave } from '@nitro-datakey/enclave';
import { AttestationVerifier } from '@nitro-datakey/shared';
import { ATTESTATION_DOCUMENT_HEADER, attestedFetch } from '@nitro-datakey/shared/attested-http';
import { startStack, type Stack } from '@nitro-datakey/devkit';
import { freePort, stackEnclaveConfig } from '../../support/index.js';

/*
 * attestedFetch against an app under `nitro-enclave run` on the simulated NSM, its attested front
 * configured and no code in the app for it: accepted with the right PCRs, and refused, with a code, for a
 * wrong PCR set, a replayed answer, an old document, a missing document and a body swapped on the way.
 */
let stack: Stack;
let dir: string;
let frontUrl: string;
let appUrl: string;
let pcrs: Record<number, string>;
const signals = new EventEmitter();
let running: Promise<number>;

beforeAll(async () => {
  stack = await startStack();
  dir = mkdtempSync(join(tmpdir(), 'ndk-attested-fetch-'));
  const [appPort, frontPort] = [await freePort(), await freePort()];
  appUrl = `http://127.0.0.1:${appPort}/`;
  frontUrl = `http://127.0.0.1:${frontPort}/`;
  const app = `require('http').createServer((q, s) => s.end(JSON.stringify({ hello: 'from the enclave', path: q.url }))).listen(${appPort}, '127.0.0.1')`;
  writeFileSync(
    join(dir, 'enclave.json'),
    JSON.stringify({
      ...stackEnclaveConfig(stack, dir),
      attestedHttp: { listen: `tcp:127.0.0.1:${frontPort}`, upstream: `http://127.0.0.1:${appPort}` },
      run: { command: [process.execPath, '-e', app] },
    }),
  );
  running = nitroEnclave(['run', '--config', join(dir, 'enclave.json')], {
    io: { stdout: () => undefined, stderr: () => undefined, readStdin: async () => new Uint8Array(0) },
    signals: signals as unknown as NodeJS.Process,
    openNsm: () => stack.nsm,
  });
  for (let i = 0; i < 100; i++) {
    const up = await fetch(frontUrl).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  pcrs = {};
  for (const index of [0, 1, 2]) pcrs[index] = Buffer.from((await stack.nsm.describePcr(index)).value).toString('hex');
}, 60_000);

afterAll(async () => {
  signals.emit('SIGTERM');
  await running;
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

const verifier = (clock?: () => Date) => new AttestationVerifier({ trustedRootFingerprints: [stack.pki.rootFingerprint], ...(clock ? { clock } : {}) });
const failure = (p: Promise<unknown>) =>
  p.then(
    () => 'accepted',
    (e: Error & { code?: string }) => e.code ?? e.message,
  );

describe('attestedFetch against an app under nitro-enclave run', () => {
  it('accepts the answer of the measured enclave: the body as the app wrote it, the document verified and bound to it', async () => {
    const { response, body, attestation } = await attestedFetch(`${frontUrl}orders/7`, {}, { verifier: verifier(), pcrSets: [pcrs] });
    expect(response.status).toBe(200);
    expect(JSON.parse(Buffer.from(body).toString())).toEqual({ hello: 'from the enclave', path: '/orders/7' });
    expect(attestation.moduleId).toBe((await stack.nsm.describe()).moduleId);
  });

  it('takes any of several PCR sets (a roll-over), and refuses when none matches', async () => {
    const other = { 0: 'ab'.repeat(48), 1: pcrs[1] as string, 2: pcrs[2] as string };
    expect(await failure(attestedFetch(frontUrl, {}, { verifier: verifier(), pcrSets: [other, pcrs] }))).toBe('accepted');
    expect(await failure(attestedFetch(frontUrl, {}, { verifier: verifier(), pcrSets: [other] }))).toBe('ERR_ATTESTED_FETCH_PCRS');
  });

  it("refuses a replayed answer (its nonce is another request's), an old document, a missing one, and a body swapped on the way", async () => {
    let recorded: Response | undefined;
    const record: typeof fetch = async (input, init) => {
      recorded = await fetch(input, init);
      return recorded.clone();
    };
    await attestedFetch(frontUrl, {}, { verifier: verifier(), pcrSets: [pcrs], fetch: record });
    const replay: typeof fetch = async () => (recorded as Response).clone();
    expect(await failure(attestedFetch(frontUrl, {}, { verifier: verifier(), pcrSets: [pcrs], fetch: replay }))).toBe('ERR_ATTESTATION_NONCE_MISMATCH');

    const later = () => new Date(Date.now() + 5 * 60_000);
    expect(await failure(attestedFetch(frontUrl, {}, { verifier: verifier(later), pcrSets: [pcrs], maxAgeMs: 60_000 }))).toBe('ERR_ATTESTATION_STALE');

    // The app reached without its front: no document, and that is an error, not a warning.
    expect(await failure(attestedFetch(appUrl, {}, { verifier: verifier(), pcrSets: [pcrs] }))).toBe('ERR_ATTESTED_FETCH_MISSING');

    const swap: typeof fetch = async (input, init) => {
      const real = await fetch(input, init);
      return new Response(JSON.stringify({ hello: 'from the proxy' }), { status: real.status, headers: real.headers });
    };
    expect(await failure(attestedFetch(frontUrl, {}, { verifier: verifier(), pcrSets: [pcrs], fetch: swap }))).toBe('ERR_ATTESTED_FETCH_BINDING');
    const stripped: typeof fetch = async (input, init) => {
      const real = await fetch(input, init);
      const headers = new Headers(real.headers);
      headers.delete(ATTESTATION_DOCUMENT_HEADER);
      return new Response(await real.arrayBuffer(), { status: real.status, headers });
    };
    expect(await failure(attestedFetch(frontUrl, {}, { verifier: verifier(), pcrSets: [pcrs], fetch: stripped }))).toBe('ERR_ATTESTED_FETCH_MISSING');
  });
});
