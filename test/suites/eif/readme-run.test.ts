import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCiphertextForRecipient } from '@nitro-datakey/shared/testing';
import { generateKeyPairSync } from 'node:crypto';
import { projectRoot } from '../../support/index.js';

/*
 * The README's shell blocks that need nothing but this machine, run as they are written (bash, in a fresh
 * directory, `npx` resolving to the repository's bins): the offline quickstart with the simulator, the
 * CMS commands, the policy generator. The rest needs AWS or Nitro hardware, or the whole stack: their
 * commands and options are checked against --help (readme-code.test.ts), and what they do by the suites.
 */
const root = projectRoot();
const dir = mkdtempSync(join(tmpdir(), 'ndk-readme-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const blocks = [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);
const block = (first: string) => {
  const found = blocks.find((b) => b.trimStart().startsWith(first));
  if (found === undefined) throw new Error(`README.md has no sh block starting with ${first}`);
  return found;
};

function bash(script: string): { status: number | null; stdout: string; stderr: string } {
  // `npx X` runs the repository's X, as it would in a project that installed the packages.
  const prelude = `set -euo pipefail\nnpx() { "$@"; }\nexport PATH="${join(root, 'node_modules', '.bin')}:$PATH"\n`;
  return spawnSync('bash', ['-c', prelude + script], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
}

describe('README.md shell blocks, run as written', () => {
  it('the offline quickstart: a simulated PKI, a document, verified against its root', () => {
    writeFileSync(
      join(dir, 'measurements.json'),
      JSON.stringify({ Measurements: { HashAlgorithm: 'Sha384 { ... }', PCR0: 'a'.repeat(96), PCR1: 'b'.repeat(96), PCR2: 'c'.repeat(96) } }),
    );
    const r = bash(block('npx nitro-sim pki init'));
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'doc.cbor')).byteLength).toBeGreaterThan(1000);
  });

  it('the CMS commands: cms-decrypt opens what KMS would send, cms-encrypt makes one', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'enclave-key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(join(dir, 'enclave-pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(dir, 'answer.b64'), Buffer.from(buildCiphertextForRecipient(new Uint8Array([0xc0, 0xff, 0xee]), publicKey)).toString('base64'));
    writeFileSync(join(dir, 'secret.bin'), 'a secret');
    const r = bash(block('npx nitro-datakey cms-decrypt'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('c0ffee');
    expect(readFileSync(join(dir, 'answer.ber')).byteLength).toBeGreaterThan(300);
  });

  it('the policy generator writes a key policy that lints clean', () => {
    mkdirSync(join(dir, 'eif', 'out'), { recursive: true });
    writeFileSync(join(dir, 'eif', 'out', 'measurements.json'), readFileSync(join(dir, 'measurements.json')));
    const r = bash(block('npx nitro-datakey policy --measurements'));
    expect(r.status, r.stderr).toBe(0);
    const lint = bash('npx nitro-datakey policy lint key-policy.json');
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);
  });
});
