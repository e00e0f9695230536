import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nitroDatakey } from '@nitro-datakey/commands';
import { nitroSim } from '@nitro-datakey/devkit';
import { decryptCiphertextForRecipient } from '@nitro-datakey/shared';
import { assertSealableSecret, MAX_SECRET_BYTES } from '@nitro-datakey/shared/sealed-secret';
import { buildCiphertextForRecipient } from '@nitro-datakey/shared/testing';
import { projectRoot } from '../../support/index.js';
import { scratchDir } from '../../support/scratch.js';

/*
 * Issue 25's messages, as a new user meets them: each mistake gets its real cause on the first line
 * of stderr, and the exit code of its kind (2: usage or unreadable input, 1: failed).
 */
const BINS = {
  'nitro-datakey': 'shared/commands/bin/nitro-datakey.js',
  'nitro-sim': 'test/devkit/bin/nitro-sim.js',
  'nitro-kms-local': 'test/devkit/bin/nitro-kms-local.js',
  'nitro-enclave': 'enclave/bin/nitro-enclave.js',
  'nitro-parent-proxy': 'parent-proxy/bin/nitro-parent-proxy.js',
} as const;

const dir = scratchDir('ndk-messages-');
const file = (name: string, content: string | Uint8Array): string => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
// Its content is the word "rubbish" among control and invalid bytes: none of it may reach the terminal.
const garbage = file('bad-bytes.json', Uint8Array.of(0, 1, 0x72, 0x75, 0x62, 0x62, 0x69, 0x73, 0x68, 0x7b, 0xff, 0xfe));
const broken = file('broken.json', '{"region": }');
const plainFile = file('a-file', 'x');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaPrivate = file('rsa.pem', rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
const message = file('message.txt', 'hello');
const enclaveConfig = file(
  'enclave.json',
  JSON.stringify({
    region: 'us-east-1',
    kms: { transport: 'tcp:127.0.0.1:1', allowedKeys: { 'alias/app': 'arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000000' } },
  }),
);
const badPolicySeed = file(
  'seed.json',
  JSON.stringify({
    keys: [
      {
        alias: 'alias/x',
        policy: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:*', Resource: '*', Condition: { StringEquals: { 'kms:Bogus': '1' } } }],
        },
      },
    ],
  }),
);
const noAliasPrefix = file('seed-alias.json', JSON.stringify({ keys: [{ alias: 'demo' }] }));

function run(bin: keyof typeof BINS, args: readonly string[]): { status: number | null; first: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(projectRoot(), BINS[bin]), ...args], { encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' });
  // The first line that is not a JSON log record (a service logs its stop before the error line).
  const first = (r.stderr || r.stdout).split('\n').find((line) => !line.startsWith('{')) ?? '';
  return { status: r.status, first, stderr: r.stderr };
}

const ROUTE = 'tcp:127.0.0.1:0=kms.us-east-1.amazonaws.com:443';

describe('every message names the real cause', () => {
  it.each([
    ['nitro-kms-local', ['audit', '--help'], 0, /^Usage: nitro-kms-local audit --file FILE/],
    ['nitro-kms-local', ['export', '--help'], 0, /^Usage: nitro-kms-local export --data-dir DIR/],
    ['nitro-sim', ['pki'], 2, /^Usage: nitro-sim pki init DIR/],
    ['nitro-enclave', ['frob'], 2, /^nitro-enclave: unknown command "frob" \(commands: run, seal, attestation, kms\)/],
    [
      'nitro-parent-proxy',
      ['--route', 'unix:/nonexistent-ndk/dir/s.sock=kms.us-east-1.amazonaws.com:443'],
      1,
      /the directory \/nonexistent-ndk\/dir does not exist$/,
    ],
    [
      'nitro-parent-proxy',
      ['--route', ROUTE, '--max-connections', '-3'],
      2,
      /--max-connections needs a value, and the next argument starts with "-"; write --max-connections=VALUE/,
    ],
    ['nitro-parent-proxy', ['--route', ROUTE, '--max-connections=-3'], 2, /--max-connections must be a whole number of 0 or more, got "-3"$/],
    ['nitro-kms-local', ['--seed', badPolicySeed, '--port', '0'], 2, /keys\[0\] \(alias\/x\): its policy is not valid: .*condition key kms:Bogus/],
    ['nitro-kms-local', ['--seed', noAliasPrefix, '--port', '0'], 2, /keys\[0\]\.alias: an alias name: alias\/NAME/],
    ['nitro-sim', ['pki', 'show', join(dir, 'nope')], 2, /cannot read .*nope\/root\.pem: ENOENT \(no simulated PKI there: nitro-sim pki init /],
    [
      'nitro-enclave',
      ['seal', '--config', enclaveConfig, '--key-id', 'alias/app', '--name', 'x', join(dir, 'nope.txt')],
      2,
      /cannot read .*nope\.txt: ENOENT$/,
    ],
    [
      'nitro-kms-local',
      ['--audit', '/nonexistent-ndk/a.log', '--port', '0'],
      2,
      /cannot open --audit \/nonexistent-ndk\/a\.log: ENOENT \(its directory does not exist\)$/,
    ],
    ['nitro-kms-local', ['--data-dir', plainFile, '--port', '0'], 2, /--data-dir .*a-file is not a directory$/],
    ['nitro-kms-local', ['--data-dir', '/proc/ndk-x', '--port', '0'], 2, /cannot create --data-dir \/proc\/ndk-x: ENOENT$/],
    ['nitro-sim', ['pki', 'init', '/proc/ndk-x'], 2, /cannot create the PKI directory \/proc\/ndk-x: ENOENT$/],
    [
      'nitro-datakey',
      ['cms-encrypt', '--recipient', rsaPrivate, message, '--format', 'hex'],
      2,
      /holds a private key; give the public key \(openssl pkey -in .* -pubout/,
    ],
    ['nitro-enclave', ['run', '--config', broken], 2, /broken\.json: not valid JSON \(line 1, column 12\)$/],
  ] as const)('%s %j: exit %i, %s', (bin, args, status, first) => {
    const r = run(bin, args);
    expect(r.status, r.stderr).toBe(status);
    expect(r.first).toMatch(first);
  });

  it.each([
    ['nitro-enclave', ['run', '--config', garbage]],
    ['nitro-datakey', ['policy', '--measurements', garbage, '--account', '111122223333', '--role-arn', 'arn:aws:iam::111122223333:role/x']],
    ['nitro-kms-local', ['--seed', garbage, '--port', '0']],
    ['nitro-sim', ['attest', '--pki-dir', dir, '--pcrs', garbage, '--format', 'hex']],
  ] as const)('%s %j: a garbage JSON file is named, its bytes never echoed', (bin, args) => {
    const r = run(bin, args);
    expect(r.status).toBe(2);
    expect(r.stderr).not.toContain('rubbish');
    expect([...r.stderr].some((c) => c === '\ufffd' || c.charCodeAt(0) === 1)).toBe(false);
    expect(r.first).toMatch(/not JSON text \(it holds binary bytes\)|cannot read/);
  });
});

describe('binary output and a terminal', () => {
  const terminal = () => {
    const out: (string | Uint8Array)[] = [];
    const err: string[] = [];
    return {
      out,
      err,
      io: {
        stdout: (d: string | Uint8Array) => void out.push(d),
        stderr: (t: string) => void err.push(t),
        readStdin: async () => new Uint8Array(0),
        stdoutIsTerminal: true,
      },
    };
  };
  const publicKey = file('rsa-public.pem', rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string);

  it('cms-encrypt refuses to write BER to a terminal, unless --format binary or a text format says so', async () => {
    const t = terminal();
    expect(await nitroDatakey(['cms-encrypt', '--recipient', publicKey, message], { io: t.io })).toBe(2);
    expect(t.err.join('')).toMatch(/refusing to write binary output to a terminal: redirect it \(> out\.bin\), or give --format hex or base64/);
    expect(t.out).toHaveLength(0);
    const binary = terminal();
    expect(await nitroDatakey(['cms-encrypt', '--recipient', publicKey, message, '--format', 'binary'], { io: binary.io })).toBe(0);
    expect(binary.out[0]).toBeInstanceOf(Uint8Array);
    const hex = terminal();
    expect(await nitroDatakey(['cms-encrypt', '--recipient', publicKey, message, '--format', 'hex'], { io: hex.io })).toBe(0);
    expect(String(hex.out[0])).toMatch(/^30[0-9a-f]+\n$/);
    // Not a terminal (a pipe, a file): binary as before.
    const pipe = { ...terminal().io, stdoutIsTerminal: false };
    expect(await nitroDatakey(['cms-encrypt', '--recipient', publicKey, message], { io: pipe })).toBe(0);
  });

  it('nitro-sim attest refuses the same way', async () => {
    const t = terminal();
    expect(await nitroSim(['pki', 'init', join(dir, 'pki')], { io: terminal().io })).toBe(0);
    expect(await nitroSim(['attest', '--pki-dir', join(dir, 'pki')], { io: t.io })).toBe(2);
    expect(t.err.join('')).toMatch(/refusing to write binary output to a terminal/);
  });
});

describe('the library says what it wants', () => {
  it('a secret over the limit is ERR_SEALED_SECRET_TOO_LARGE, not malformed', () => {
    expect(() => assertSealableSecret(new Uint8Array(MAX_SECRET_BYTES + 1))).toThrow(
      expect.objectContaining({
        code: 'ERR_SEALED_SECRET_TOO_LARGE',
        message: `the secret is ${MAX_SECRET_BYTES + 1} bytes; an envelope holds at most ${MAX_SECRET_BYTES}`,
      }),
    );
    expect(() => assertSealableSecret(new Uint8Array(MAX_SECRET_BYTES))).not.toThrow();
  });

  it('decryptCiphertextForRecipient takes PEM and PKCS#8 DER keys, and says a base64 string needs decoding', () => {
    const ber = buildCiphertextForRecipient(new TextEncoder().encode('key material'), rsa.publicKey);
    const pem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const der = new Uint8Array(rsa.privateKey.export({ type: 'pkcs8', format: 'der' }));
    expect(new TextDecoder().decode(decryptCiphertextForRecipient(ber, pem))).toBe('key material');
    expect(new TextDecoder().decode(decryptCiphertextForRecipient(ber, der))).toBe('key material');
    expect(() => decryptCiphertextForRecipient(Buffer.from(ber).toString('base64') as never, pem)).toThrow(/not a string: decode the base64 first/);
    expect(() => decryptCiphertextForRecipient(ber, 'not a key')).toThrow(/an RSA private key: a KeyObject, PEM text, or PKCS#8 DER bytes/);
  });
});
