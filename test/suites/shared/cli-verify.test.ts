import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { nitroDatakey as main } from '@nitro-datakey/commands';
import { toHex } from '@nitro-datakey/shared';
import { NitroPki, type NitroChain } from '@nitro-datakey/devkit';
import { buildAttestationDocument, makePcrs } from '../../support/index.js';
import { scratchDir } from '../../support/scratch.js';

const BOOT = new Date('2026-03-01T00:00:00Z');
const AT = String(BOOT.getTime() + 60_000);
let pki: NitroPki;
let chain: NitroChain;
let dir: string;
let docPath: string;
const nonce = new Uint8Array(16).fill(0xab);

async function run(argv: string[], stdin: Uint8Array = new Uint8Array(0)): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, {
    io: {
      stdout: (t) => {
        out += typeof t === 'string' ? t : Buffer.from(t).toString('latin1');
      },
      stderr: (t) => {
        err += t;
      },
      readStdin: async () => stdin,
    },
  });
  return { code, out, err };
}

beforeAll(async () => {
  pki = await NitroPki.create();
  chain = await pki.issueChain({ bootTime: BOOT });
  dir = scratchDir('ndk-cli-');
  docPath = join(dir, 'doc.cbor');
  writeFileSync(docPath, buildAttestationDocument({ chain, timestamp: BOOT.getTime(), nonce, userData: new Uint8Array([1]) }));
});

describe('nitro-datakey verify', () => {
  it('prints a valid document as one JSON object and exits 0', async () => {
    const r = await run(['verify', docPath, '--at', AT, '--root-fingerprint', pki.rootFingerprint, '--json']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out);
    expect(json.valid).toBe(true);
    expect(json.document).toMatchObject({
      moduleId: expect.stringMatching(/^i-/),
      timestamp: BOOT.toISOString(),
      digest: 'SHA384',
      publicKey: null,
      userData: '01',
      nonce: toHex(nonce),
      debug: false,
    });
    expect(json.document.pcrs['0']).toBe(toHex(makePcrs().get(0) as Uint8Array));
    expect(json.document.certificate.subject).toContain('CN=');
    expect(json.document.certificate.notAfter).toBe(new Date(BOOT.getTime() + 3 * 3_600_000).toISOString());
  });

  it('exits 1 with a code on rejection, in JSON and in text', async () => {
    const foreign = await run(['verify', docPath, '--at', AT, '--json']);
    expect(foreign.code).toBe(1);
    expect(JSON.parse(foreign.out)).toMatchObject({ valid: false, code: 'ERR_ATTESTATION_CHAIN' });
    const pcr = await run(['verify', docPath, '--at', AT, '--root-fingerprint', pki.rootFingerprint, '--pcr', `0=${'00'.repeat(48)}`]);
    expect(pcr.code).toBe(1);
    expect(pcr.err).toMatch(/^REJECTED ERR_ATTESTATION_PCR_MISMATCH/);
  });

  it('--clock-tolerance lets --at with --max-age accept a document a little ahead of the given time', async () => {
    // A document stamped 10 s after boot, verified "as of" 8 s after boot: 2 s in the future.
    const aheadPath = join(dir, 'ahead.cbor');
    writeFileSync(aheadPath, buildAttestationDocument({ chain, timestamp: BOOT.getTime() + 10_000 }));
    const early = new Date(BOOT.getTime() + 8_000).toISOString();
    const base = ['verify', aheadPath, '--at', early, '--root-fingerprint', pki.rootFingerprint, '--max-age', '60', '--json'];
    expect(JSON.parse((await run(base)).out).code).toBe('ERR_ATTESTATION_FUTURE');
    expect(JSON.parse((await run([...base, '--clock-tolerance', '5'])).out).valid).toBe(true);
    expect(JSON.parse((await run([...base, '--clock-tolerance', '1'])).out).code).toBe('ERR_ATTESTATION_FUTURE');
    expect((await run([...base, '--clock-tolerance', 'soon'])).code).toBe(2);
  });

  it('applies --nonce, --user-data, --max-age, --deny-debug and --public-key-required', async () => {
    const base = ['verify', docPath, '--at', AT, '--root-fingerprint', pki.rootFingerprint, '--json'];
    const codeOf = async (extra: string[]) => JSON.parse((await run([...base, ...extra])).out).code ?? 'OK';
    expect(await codeOf(['--nonce', toHex(nonce), '--user-data', '01', '--max-age', '60'])).toBe('OK');
    expect(await codeOf(['--nonce', '00'])).toBe('ERR_ATTESTATION_NONCE_MISMATCH');
    expect(await codeOf(['--user-data', '02'])).toBe('ERR_ATTESTATION_USER_DATA_MISMATCH');
    expect(await codeOf(['--max-age', '59'])).toBe('ERR_ATTESTATION_STALE');
    expect(await codeOf(['--public-key-required'])).toBe('ERR_ATTESTATION_PUBLIC_KEY_MISMATCH');
    const debugPath = join(dir, 'debug.cbor');
    writeFileSync(debugPath, buildAttestationDocument({ chain, timestamp: BOOT.getTime(), pcrs: makePcrs({ debug: true }) }));
    const r = await run(['verify', debugPath, '--at', AT, '--root-fingerprint', pki.rootFingerprint, '--deny-debug', '--json']);
    expect(JSON.parse(r.out).code).toBe('ERR_ATTESTATION_DEBUG_MODE');
  });

  it('reads hex and base64 files and standard input', async () => {
    const bytes = buildAttestationDocument({ chain, timestamp: BOOT.getTime() });
    const hexPath = join(dir, 'doc.hex');
    const b64Path = join(dir, 'doc.b64');
    writeFileSync(hexPath, `${Buffer.from(bytes).toString('hex')}\n`);
    writeFileSync(b64Path, Buffer.from(bytes).toString('base64').replace(/.{76}/g, '$&\n'));
    for (const path of [hexPath, b64Path]) {
      expect((await run(['verify', path, '--at', AT, '--root-fingerprint', pki.rootFingerprint])).code).toBe(0);
    }
    expect((await run(['verify', '-', '--at', AT, '--root-fingerprint', pki.rootFingerprint], bytes)).code).toBe(0);
  });

  it('exits 2 on usage errors and unreadable input', async () => {
    const cases: string[][] = [
      [],
      ['frobnicate'],
      ['verify'],
      ['verify', docPath, '--bogus'],
      ['verify', docPath, '--at', 'yesterday'],
      ['verify', docPath, '--pcr', '40=00'],
      ['verify', docPath, '--pcr', '0=xyz'],
      ['verify', docPath, '--root-fingerprint', 'abcd'],
      ['verify', docPath, '--max-age', 'ten'],
      ['verify', join(dir, 'missing.cbor')],
      ['verify', docPath, docPath],
    ];
    for (const argv of cases) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err.length, argv.join(' ')).toBeGreaterThan(0);
    }
  });

  it('has --help for the tool and each command', async () => {
    for (const argv of [['--help'], ['verify', '--help'], ['inspect', '--help']]) {
      const r = await run(argv);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^Usage: nitro-datakey/);
    }
  });
});

describe('nitro-datakey inspect', () => {
  it('decodes without verifying, in the same JSON shape', async () => {
    const r = await run(['inspect', docPath, '--json']);
    expect(r.code).toBe(0);
    const verified = JSON.parse((await run(['verify', docPath, '--at', AT, '--root-fingerprint', pki.rootFingerprint, '--json'])).out);
    expect(JSON.parse(r.out).document).toEqual(verified.document);
  });

  it('exits 1 on a malformed document', async () => {
    const bad = join(dir, 'bad.cbor');
    writeFileSync(bad, new Uint8Array([0x84, 0x01]));
    const r = await run(['inspect', bad, '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).code).toBe('ERR_ATTESTATION_MALFORMED');
  });
});

describe('the installed bin', () => {
  it('runs through node_modules/.bin with the exit status of the command', async () => {
    const bin = resolve(__dirname, '../../../node_modules/.bin/nitro-datakey');
    const ok = await promisify(execFile)(bin, ['verify', docPath, '--at', AT, '--root-fingerprint', pki.rootFingerprint, '--json']);
    expect(JSON.parse(ok.stdout).valid).toBe(true);
    const rejected = await promisify(execFile)(bin, ['verify', docPath, '--at', AT, '--json']).catch((e: { code: number; stdout: string }) => e);
    expect((rejected as { code: number }).code).toBe(1);
  });
});
