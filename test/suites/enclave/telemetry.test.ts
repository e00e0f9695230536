import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand, GenerateDataKeyCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nitroEnclave, sealSecret } from '@nitro-datakey/enclave';
import { AttestationVerifier, sealWithDataKey, sealedSecretContext } from '@nitro-datakey/shared';
import { localKmsClient, startStack, type Stack } from '@nitro-datakey/devkit';
import { stackEnclaveConfig } from '../../support/index.js';

/*
 * Logs, metrics, health and attestation out of an enclave that has no console: `nitro-enclave run` over
 * the telemetry route to the real parent proxy. What the parent writes is checked line by line, and
 * searched for every secret and key of the run.
 */
const A = '111122223333';
const ROLE_SESSION = `arn:aws:sts::${A}:assumed-role/enclave/i-0abc`;
let stack: Stack;
let dir: string;
let output: string;
let secretValue: string;
let deniedKey: string;

const policy = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Sid: 'admin', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: 'kms:*', Resource: '*' },
    { Sid: 'enclave', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:role/enclave` }, Action: 'kms:*', Resource: '*' },
  ],
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ndk-telemetry-'));
  output = join(dir, 'enclave.log');
  stack = await startStack({ transport: 'unix', keyPolicy: policy, telemetryOutput: output, kms: { account: A, principals: { ASIASTACKTEST: ROLE_SESSION } } });
  secretValue = `pw-${randomBytes(12).toString('hex')}`;
  writeFileSync(
    join(dir, 'db.sealed.json'),
    JSON.stringify(await sealSecret(stack.client, new TextEncoder().encode(secretValue), { keyId: stack.keyId, name: 'db-password' })),
  );
  // A key whose default policy leaves the enclave's role out: its envelope cannot be opened.
  const admin = localKmsClient(stack.kms);
  deniedKey = (await admin.send(new CreateKeyCommand({}))).KeyMetadata?.Arn as string;
  const context = sealedSecretContext('api-token');
  const dataKey = await admin.send(new GenerateDataKeyCommand({ KeyId: deniedKey, KeySpec: 'AES_256', EncryptionContext: context }));
  const sealed = sealWithDataKey(
    new TextEncoder().encode('never-opened'),
    { plaintext: dataKey.Plaintext as Uint8Array, ciphertextBlob: dataKey.CiphertextBlob as Uint8Array, keyId: deniedKey },
    context,
  );
  writeFileSync(join(dir, 'denied.sealed.json'), JSON.stringify(sealed));
  admin.destroy();
}, 60_000);

afterAll(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

function config(items: object[], name: string, command: string[]): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      ...stackEnclaveConfig(stack, dir, { app: stack.keyId, denied: deniedKey }),
      secrets: { dir: join(dir, `secrets-${name}`), items },
      gateway: { listen: 'tcp:127.0.0.1:0' },
      telemetry: { route: stack.proxy.telemetry, heartbeatMs: 100 },
      run: { command, env: { OUT_FILE: join(dir, `${name}.datakey`), RELEASE: join(dir, `${name}.release`) } },
    }),
  );
  return file;
}

const run = (file: string) =>
  nitroEnclave(['run', '--config', file], {
    io: { stdout: () => undefined, stderr: () => undefined, readStdin: async () => new Uint8Array(0) },
    signals: new EventEmitter() as unknown as NodeJS.Process,
    openNsm: () => stack.nsm,
  });

const metricsUrl = () => `http://${stack.proxy.metrics?.slice('tcp:'.length)}`;
const parentLines = () =>
  existsSync(output)
    ? readFileSync(output, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
    : [];

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// The workload: reads its secret (prints only its length), asks the gateway for a data key (kept in a
// file, never printed), writes a line to each stream, and waits to be released.
const WORKLOAD = `
const fs = require('fs');
const secret = fs.readFileSync(process.env.NITRO_DATAKEY_SECRETS_DIR + '/db-password');
console.log('workload up, secret of ' + secret.length + ' bytes');
console.error('a line on stderr');
fetch(process.env.NITRO_DATAKEY_GATEWAY_URL, { method: 'POST',
  headers: { 'x-amz-target': 'TrentService.GenerateDataKey', 'content-type': 'application/x-amz-json-1.1' },
  body: JSON.stringify({ KeyId: 'app', KeySpec: 'AES_256' }) })
  .then((r) => r.json()).then((j) => { fs.writeFileSync(process.env.OUT_FILE, j.Plaintext); console.log('data key made'); });
setInterval(() => { if (fs.existsSync(process.env.RELEASE)) process.exit(0); }, 50);
`;

describe('telemetry out of the enclave', () => {
  it("the workload's lines and the supervisor's records reach the parent; metrics, /healthz and /attestation answer; no secret in any of it", async () => {
    const file = config([{ name: 'db-password', envelope: join(dir, 'db.sealed.json'), keyId: 'app' }], 'ok', [process.execPath, '-e', WORKLOAD]);
    const status = run(file);
    const moduleId = (await stack.nsm.describe()).moduleId;
    await until(() => (parentLines().some((l) => l['line'] === 'data key made') ? true : undefined), 'the workload output on the parent');

    const health = await until(async () => {
      const r = await fetch(`${metricsUrl()}/healthz`);
      return r.status === 200 ? ((await r.json()) as Record<string, unknown>) : undefined;
    }, '/healthz 200');
    expect(health).toMatchObject({ healthy: true, enclaves: [{ enclave: moduleId }] });

    const metrics = await until(async () => {
      const text = await (await fetch(`${metricsUrl()}/metrics`)).text();
      return text.includes('nitro_enclave_gateway_requests_total') ? text : undefined;
    }, 'enclave metrics on /metrics');
    expect(metrics).toContain(`nitro_enclave_kms_calls_total{operation="Decrypt",outcome="ok",enclave="${moduleId}"} 1`);
    expect(metrics).toContain(`nitro_enclave_gateway_requests_total{operation="GenerateDataKey",status="200",enclave="${moduleId}"} 1`);
    expect(metrics).toContain(`nitro_enclave_secrets_total{name="db-password",outcome="opened",enclave="${moduleId}"} 1`);
    expect(metrics).toMatch(new RegExp(`nitro_enclave_kms_call_duration_ms_count\\{operation="GenerateDataKey",enclave="${moduleId}"\\} 1`));
    expect(metrics).toMatch(/nitro_enclave_key_pairs_generated_total\{enclave="[^"]+"\} [1-9]/);

    const nonce = randomBytes(16);
    const attestation = await fetch(`${metricsUrl()}/attestation?nonce=${nonce.toString('hex')}`);
    expect(attestation.status).toBe(200);
    const verified = new AttestationVerifier({ trustedRootFingerprints: [stack.pki.rootFingerprint] }).verify(new Uint8Array(await attestation.arrayBuffer()), {
      nonce,
      maxAgeMs: 60_000,
    });
    expect(verified.moduleId).toBe(moduleId);
    expect((await fetch(`${metricsUrl()}/attestation?nonce=zz`)).status).toBe(400);

    writeFileSync(join(dir, 'ok.release'), '');
    expect(await status).toBe(0);
    const lines = parentLines();
    expect(lines).toContainEqual(expect.objectContaining({ enclave: moduleId, stream: 'stdout', line: `workload up, secret of ${secretValue.length} bytes` }));
    expect(lines).toContainEqual(expect.objectContaining({ enclave: moduleId, stream: 'stderr', line: 'a line on stderr' }));
    // The enclave names its measurements once it is up: what an operator holds against the key policy.
    const pcr0 = Buffer.from((await stack.nsm.describePcr(0)).value).toString('hex');
    expect(lines).toContainEqual(
      expect.objectContaining({ stream: 'supervisor', level: 'info', message: 'enclave ready', fields: expect.objectContaining({ moduleId, pcr0 }) }),
    );
    expect(lines).toContainEqual(expect.objectContaining({ stream: 'supervisor', message: 'workload exited', fields: { status: 0 } }));

    // Nothing secret in what the parent received: the secret, the data key the workload got, in any encoding.
    const forwarded = readFileSync(output, 'utf8');
    const dataKey = Buffer.from(readFileSync(join(dir, 'ok.datakey'), 'utf8'), 'base64');
    expect(dataKey).toHaveLength(32);
    for (const needle of [secretValue, Buffer.from(secretValue).toString('base64'), dataKey.toString('base64'), dataKey.toString('hex')])
      expect(forwarded).not.toContain(needle);
  });

  it('a boot that fails (a key the policy denies) is seen on the parent, with the exception, the module id and PCR0-2', async () => {
    const file = config([{ name: 'api-token', envelope: join(dir, 'denied.sealed.json'), keyId: 'denied' }], 'denied', [
      process.execPath,
      '-e',
      'process.exit(0)',
    ]);
    expect(await run(file)).toBe(1);
    const failure = await until(() => parentLines().find((l) => l['message'] === 'enclave boot failed'), 'the boot failure on the parent');
    const pcr0 = Buffer.from((await stack.nsm.describePcr(0)).value).toString('hex');
    expect(failure).toMatchObject({
      stream: 'supervisor',
      level: 'error',
      fields: { kmsError: 'AccessDeniedException', moduleId: (await stack.nsm.describe()).moduleId, pcr0, pcr1: expect.stringMatching(/^[0-9a-f]{96}$/) },
    });
  });

  it('nitro-enclave attestation writes a document over the nonce that verifies; without a nonce it is a usage error', async () => {
    const nonce = randomBytes(20);
    const out = join(dir, 'doc.cbor');
    const io = { stdout: () => undefined, stderr: () => undefined, readStdin: async () => new Uint8Array(0) };
    expect(await nitroEnclave(['attestation', '--nonce', nonce.toString('hex'), '--out', out], { io, openNsm: () => stack.nsm })).toBe(0);
    const verified = new AttestationVerifier({ trustedRootFingerprints: [stack.pki.rootFingerprint] }).verify(new Uint8Array(readFileSync(out)), { nonce });
    expect(verified.moduleId).toBe((await stack.nsm.describe()).moduleId);
    let stderr = '';
    const status = await nitroEnclave(['attestation', '--out', out], {
      io: { ...io, stderr: (t: string) => (stderr += t) },
      openNsm: () => {
        throw new Error('not reached');
      },
    });
    expect(status).toBe(2);
    expect(stderr).toMatch(/--nonce HEX is required/);
  });
});
