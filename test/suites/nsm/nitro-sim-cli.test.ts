import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AttestationVerifier } from '@nitro-datakey/shared';
import { nitroSim } from '@nitro-datakey/devkit';

let dir: string;

async function run(argv: string[]): Promise<{ code: number; out: Buffer; err: string }> {
  const out: Buffer[] = [];
  let err = '';
  const code = await nitroSim(argv, {
    stdout: (d) => out.push(Buffer.from(d)),
    stderr: (t) => {
      err += t;
    },
    readStdin: async () => new Uint8Array(0),
  });
  return { code, out: Buffer.concat(out), err };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ndk-sim-'));
});

describe('nitro-sim', () => {
  it('pki init prints a fingerprint the verifier then trusts; attest writes a document with what was asked', async () => {
    const init = await run(['pki', 'init', join(dir, 'pki')]);
    expect(init.code).toBe(0);
    const fingerprint = init.out.toString().trim();
    expect(fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect((await run(['pki', 'show', join(dir, 'pki'), '--json'])).out.toString()).toContain(fingerprint);

    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyFile = join(dir, 'pub.pem');
    writeFileSync(keyFile, publicKey.export({ format: 'pem', type: 'spki' }));
    const pcrsFile = join(dir, 'measurements.json');
    writeFileSync(
      pcrsFile,
      JSON.stringify({ Measurements: { HashAlgorithm: 'Sha384 { ... }', PCR0: '11'.repeat(48), PCR1: '22'.repeat(48), PCR2: '33'.repeat(48) } }),
    );
    const at = '2026-04-01T10:00:00Z';
    const doc = await run([
      'attest',
      '--pki-dir',
      join(dir, 'pki'),
      '--public-key',
      keyFile,
      '--user-data',
      '0102',
      '--nonce',
      'aabb',
      '--pcrs',
      pcrsFile,
      '--at',
      at,
    ]);
    expect(doc.code).toBe(0);
    const verified = new AttestationVerifier({ trustedRootFingerprints: [fingerprint], clock: () => new Date(at) }).verify(new Uint8Array(doc.out), {
      pcrs: { 0: '11'.repeat(48) },
      nonce: new Uint8Array([0xaa, 0xbb]),
      userData: new Uint8Array([1, 2]),
      publicKey: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })),
    });
    expect(verified.timestamp).toBe(Date.parse(at));
  });

  it('--debug zeroes PCR0-2; --format hex and base64 write text', async () => {
    await run(['pki', 'init', join(dir, 'pki2')]);
    const hex = await run(['attest', '--pki-dir', join(dir, 'pki2'), '--debug', '--format', 'hex']);
    const bytes = new Uint8Array(Buffer.from(hex.out.toString().trim(), 'hex'));
    const fingerprint = (await run(['pki', 'show', join(dir, 'pki2')])).out.toString().trim();
    expect(new AttestationVerifier({ trustedRootFingerprints: [fingerprint] }).verify(bytes).debug).toBe(true);
    const b64 = await run(['attest', '--pki-dir', join(dir, 'pki2'), '--format', 'base64']);
    expect(b64.out.toString().trim()).toMatch(/^[A-Za-z0-9+/]+=*$/);
  });

  it('refuses to overwrite a root (exit 1) and reports usage errors (exit 2)', async () => {
    await run(['pki', 'init', join(dir, 'pki3')]);
    expect((await run(['pki', 'init', join(dir, 'pki3')])).code).toBe(1);
    const badPcrs = join(dir, 'bad.json');
    writeFileSync(badPcrs, '{"PCR0": "zz"}');
    for (const argv of [
      [],
      ['frob'],
      ['attest'],
      ['attest', '--pki-dir', join(dir, 'pki3'), '--nonce', 'xyz'],
      ['attest', '--pki-dir', join(dir, 'pki3'), '--format', 'pdf'],
      ['attest', '--pki-dir', join(dir, 'pki3'), '--pcrs', badPcrs],
      ['attest', '--pki-dir', join(dir, 'pki3'), '--public-key', badPcrs],
      ['pki', 'init'],
    ]) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err.length).toBeGreaterThan(0);
    }
    expect((await run(['attest', '--pki-dir', join(dir, 'missing')])).code).toBe(1);
    expect((await run(['--help'])).code).toBe(0);
  });
});
