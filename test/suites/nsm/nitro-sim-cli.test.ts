import { generateKeyPairSync } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AttestationVerifier, decodeNsmResponse, encodeNsmRequest } from '@nitro-datakey/shared';
import { nitroSim } from '@nitro-datakey/devkit';
import { scratchDir } from '../../support/scratch.js';

let dir: string;

async function run(argv: string[], signals?: NodeJS.Process): Promise<{ code: number; out: Buffer; err: string }> {
  const out: Buffer[] = [];
  let err = '';
  const io = {
    stdout: (d: string | Uint8Array) => out.push(Buffer.from(d)),
    stderr: (t: string) => {
      err += t;
    },
    readStdin: async () => new Uint8Array(0),
  };
  const code = await nitroSim(argv, { io, ...(signals ? { signals } : {}) });
  return { code, out: Buffer.concat(out), err };
}

/** One exchange with an emulated NSM device socket: bytes in, whatever comes back until it closes. */
function exchange(path: string, bytes: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ path }, () => socket.end(bytes));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('close', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
  });
}

function framed(request: Uint8Array): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(request.byteLength);
  return Buffer.concat([header, request]);
}

beforeAll(() => {
  dir = scratchDir('ndk-sim-');
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
    // An unreadable input is the caller's to fix, as everywhere else: exit 2, with the file and what to do.
    const missing = await run(['attest', '--pki-dir', join(dir, 'missing')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/cannot read .*missing\/root\.pem: ENOENT \(no simulated PKI there: nitro-sim pki init /);
    expect((await run(['--help'])).code).toBe(0);
  });

  it('nsm-device answers framed device requests on a 0600 socket, drops malformed frames, and stops on a signal', async () => {
    await run(['pki', 'init', join(dir, 'pki4')]);
    const socket = join(dir, 'nsm.sock');
    const signals = new EventEmitter() as unknown as NodeJS.Process;
    const running = run(['nsm-device', '--socket', socket, '--pki-dir', join(dir, 'pki4')], signals);
    for (let i = 0; i < 100 && !existsSafe(socket); i++) await new Promise((r) => setTimeout(r, 20));
    expect(statSync(socket).mode & 0o777).toBe(0o600);

    const answer = await exchange(socket, framed(encodeNsmRequest({ type: 'DescribeNSM' })));
    expect(answer.readUInt32BE(0)).toBe(answer.length - 4);
    const described = decodeNsmResponse(new Uint8Array(answer.subarray(4)));
    expect(described.type).toBe('DescribeNSM');
    // A zero-length frame, an oversized one, and one longer than it says: closed without an answer.
    for (const bad of [Buffer.alloc(4), Buffer.from([0, 0, 0x10, 0x01]), Buffer.concat([framed(new Uint8Array([0x60])), Buffer.from([0])])]) {
      expect((await exchange(socket, bad)).length).toBe(0);
    }
    // Still serving after them.
    expect(decodeNsmResponse(new Uint8Array((await exchange(socket, framed(encodeNsmRequest({ type: 'GetRandom' })))).subarray(4))).type).toBe('GetRandom');

    (signals as unknown as EventEmitter).emit('SIGTERM');
    const done = await running;
    expect(done.code).toBe(0);
    const ready = JSON.parse(done.out.toString().split('\n')[0] as string) as { socket: string; moduleId: string };
    expect(ready.socket).toBe(socket);
    if (described.type === 'DescribeNSM') expect(described.moduleId).toBe(ready.moduleId);
    const logged = done.err
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; request: string });
    expect(logged.map((l) => l.request)).toEqual(['DescribeNSM', 'GetRandom']);

    for (const argv of [['nsm-device'], ['nsm-device', '--socket', socket], ['nsm-device', '--socket', socket, '--pki-dir', join(dir, 'pki4'), 'extra']]) {
      expect((await run(argv)).code, argv.join(' ')).toBe(2);
    }
  });
});

function existsSafe(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}
