import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { request } from 'node:http';
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttestedKmsError, startGateway, type Gateway, type GatewayKms } from '@nitro-datakey/enclave';
import { parseAddress } from '@nitro-datakey/native';

// The gateway with a fake attested client: what it accepts, refuses and answers, without a stack.
const calls: string[] = [];
const handedOut: Uint8Array[] = [];
const fake: GatewayKms = {
  async generateDataKey(input) {
    calls.push(`GenerateDataKey ${JSON.stringify(input)}`);
    const plaintext = new Uint8Array(input.NumberOfBytes ?? 32).fill(0xaa);
    handedOut.push(plaintext);
    return { keyId: 'arn:aws:kms:us-east-1:111122223333:key/k', plaintext, ciphertextBlob: new Uint8Array([1, 2, 3]) };
  },
  async decrypt(input) {
    calls.push('Decrypt');
    if (input.EncryptionContext?.['deny'] === 'yes')
      throw new AttestedKmsError('ERR_KMS_REQUEST_FAILED', 'KMS refused Decrypt', { kmsErrorName: 'AccessDeniedException' });
    return { keyId: 'arn:aws:kms:us-east-1:111122223333:key/k', plaintext: new Uint8Array([9]) };
  },
  async generateDataKeyPair() {
    calls.push('GenerateDataKeyPair');
    throw new Error('not used');
  },
  async generateRandom(input) {
    calls.push('GenerateRandom');
    return new Uint8Array(input.NumberOfBytes).fill(1);
  },
  async deriveSharedSecret(input) {
    calls.push('DeriveSharedSecret');
    const secret = new Uint8Array(32).fill(0x5e);
    handedOut.push(secret);
    return { keyId: input.KeyId, sharedSecret: secret };
  },
};

let gateway: Gateway;
let url: string;
beforeAll(async () => {
  gateway = await startGateway(parseAddress('tcp:127.0.0.1:0'), fake);
  url = `http://${gateway.address.slice('tcp:'.length)}/`;
});
afterAll(() => gateway.close());

async function call(operation: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'x-amz-target': `TrentService.${operation}`, 'content-type': 'application/x-amz-json-1.1' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('the enclave gateway', () => {
  it('answers GenerateDataKey with the plaintext and zeroes its own copy', async () => {
    const r = await call('GenerateDataKey', { KeyId: 'alias/app', KeySpec: 'AES_256', EncryptionContext: { app: 'x' } });
    expect(r.status).toBe(200);
    expect(Buffer.from(r.json['Plaintext'] as string, 'base64')).toEqual(Buffer.alloc(32, 0xaa));
    expect(handedOut.at(-1)).toEqual(new Uint8Array(32));
    expect(calls.at(-1)).toContain('"EncryptionContext":{"app":"x"}');
  });

  it('reads requests as strictly as the local KMS, before calling KMS', async () => {
    const before = calls.length;
    const cases: Array<[string, unknown, string]> = [
      ['GenerateDataKey', { KeyId: 'alias/app', KeySpec: 'AES_256', EncryptionContext: { n: 1 } }, 'SerializationException'],
      ['GenerateDataKey', { KeyId: 'alias/app', KeySpec: 'AES_256', EncryptionContext: ['a'] }, 'SerializationException'],
      ['GenerateDataKey', { KeyId: 'alias/app', KeySpec: 'AES_512' }, 'ValidationException'],
      ['GenerateDataKey', { KeyId: 'alias/app' }, 'ValidationException'],
      ['GenerateDataKey', { KeyId: 'alias/app', NumberOfBytes: 1025 }, 'ValidationException'],
      ['Decrypt', { CiphertextBlob: 'not base64!' }, 'SerializationException'],
      ['Decrypt', {}, 'ValidationException'],
      ['GenerateRandom', { NumberOfBytes: '32' }, 'SerializationException'],
      ['GenerateDataKey', { KeyId: 'alias/app', KeySpec: 'AES_256', Recipient: { AttestationDocument: 'AAAA' } }, 'ValidationException'],
      ['GenerateDataKey', { KeyId: 'alias/app', KeySpec: 'AES_256', DryRun: true }, 'ValidationException'],
      ['GenerateDataKey', '{"KeyId": ', 'SerializationException'],
      ['Encrypt', { KeyId: 'alias/app', Plaintext: 'AA==' }, 'UnsupportedOperationException'],
    ];
    for (const [operation, body, type] of cases) {
      const r = await call(operation, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json['__type'], JSON.stringify(body)).toBe(type);
    }
    expect(calls.length).toBe(before);
  });

  it('answers DeriveSharedSecret with the shared secret, read with the shared request reader', async () => {
    const r = await call('DeriveSharedSecret', { KeyId: 'arn:aws:kms:us-east-1:111122223333:key/k', KeyAgreementAlgorithm: 'ECDH', PublicKey: 'AQID' });
    expect(r.status).toBe(200);
    expect(Buffer.from(r.json['SharedSecret'] as string, 'base64')).toEqual(Buffer.alloc(32, 0x5e));
    expect(handedOut.at(-1)).toEqual(new Uint8Array(32)); // our copy zeroed
    expect((await call('DeriveSharedSecret', { KeyId: 'k', KeyAgreementAlgorithm: 'DH', PublicKey: 'AQID' })).json['__type']).toBe('ValidationException');
  });

  it("passes KMS's refusal through by name, with our code in the message", async () => {
    const r = await call('Decrypt', { CiphertextBlob: 'AQID', EncryptionContext: { deny: 'yes' } });
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ __type: 'AccessDeniedException', message: 'ERR_KMS_REQUEST_FAILED: KMS refused Decrypt' });
  });

  it('turns an unexpected failure into a 500 that says nothing of it', async () => {
    const r = await call('GenerateDataKeyPair', { KeyId: 'alias/app', KeyPairSpec: 'RSA_2048' });
    expect(r.status).toBe(500);
    expect(r.json).toEqual({ __type: 'KMSInternalException', message: 'internal error in the enclave gateway' });
  });
});

describe('the enclave gateway on a Unix socket', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'ndk-gw-'));
    dirs.push(d);
    return d;
  };
  const post = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          socketPath: path,
          method: 'POST',
          path: '/',
          headers: { 'x-amz-target': 'TrentService.GenerateRandom', 'content-type': 'application/x-amz-json-1.1' },
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => {
            body += c.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ NumberOfBytes: 4 }));
    });

  it('creates the socket 0600 and answers callers of its own uid', async () => {
    const path = join(tmp(), 'kms.sock');
    const g = await startGateway(parseAddress(`unix:${path}`), fake);
    try {
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect((await post(path)).status).toBe(200);
    } finally {
      await g.close();
    }
  });

  it('drops a caller whose uid is not allowed (the kernel reports it: SO_PEERCRED)', async () => {
    const path = join(tmp(), 'kms.sock');
    const lines: string[] = [];
    const g = await startGateway(parseAddress(`unix:${path}`), fake, {
      allowedUids: [(process.getuid?.() ?? 0) + 4242],
      log: (level, msg, fields) => lines.push(`${level} ${msg} ${JSON.stringify(fields)}`),
    });
    try {
      await expect(post(path)).rejects.toThrow();
      expect(lines.some((l) => l.includes('gateway caller refused') && l.includes(`"uid":${process.getuid?.()}`))).toBe(true);
    } finally {
      await g.close();
    }
  });

  it('takes its socket mode from allowedUids: 0600 for its own uid alone, 0666 when others may call', async () => {
    const own = process.getuid?.() ?? 0;
    const umask = process.umask(0);
    try {
      const alone = join(tmp(), 'alone.sock');
      const g1 = await startGateway(parseAddress(`unix:${alone}`), fake);
      expect(statSync(alone).mode & 0o777).toBe(0o600);
      await g1.close();
      const shared = join(tmp(), 'shared.sock');
      const g2 = await startGateway(parseAddress(`unix:${shared}`), fake, { allowedUids: [own, 65534] });
      expect(statSync(shared).mode & 0o777).toBe(0o666);
      await g2.close();
    } finally {
      process.umask(umask);
    }
  });

  it.skipIf(process.getuid?.() !== 0)('answers a second allowed uid (needs root to run a client as uid 65534)', async () => {
    const dir = tmp();
    chmodSync(dir, 0o755);
    const path = join(dir, 'kms.sock');
    const g = await startGateway(parseAddress(`unix:${path}`), fake, { allowedUids: [0, 65534] });
    try {
      const client = `const r = require('http').request({ socketPath: ${JSON.stringify(path)}, method: 'POST', path: '/',
        headers: { 'x-amz-target': 'TrentService.GenerateRandom' } }, (res) => { console.log(res.statusCode); res.resume(); });
        r.on('error', (e) => console.log(e.code)); r.end('{"NumberOfBytes":4}');`;
      const out = await spawnAsync(process.execPath, ['-e', client], { uid: 65534, gid: 65534 });
      expect(out.trim()).toBe('200');
    } finally {
      await g.close();
    }
  });

  it('takes a concurrency slot only once the body is in, and drops a body that misses its deadline', async () => {
    const g = await startGateway(parseAddress('tcp:127.0.0.1:0'), fake, { maxConcurrentRequests: 1, bodyDeadlineMs: 300 });
    const [host, port] = g.address.slice('tcp:'.length).split(':');
    try {
      // A client that sends its head and half its body, and stops.
      const trickle = connect(Number(port), host as string);
      trickle.on('error', () => undefined);
      await new Promise((r) => trickle.once('connect', r));
      trickle.write('POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: TrentService.GenerateRandom\r\nContent-Length: 40\r\n\r\n{"NumberOfB');
      const closed = new Promise((r) => trickle.once('close', r));
      await new Promise((r) => setTimeout(r, 50));
      // The one slot is still free for a whole request.
      const base = `http://${g.address.slice('tcp:'.length)}/`;
      const res = await fetch(base, { method: 'POST', headers: { 'x-amz-target': 'TrentService.GenerateRandom' }, body: '{"NumberOfBytes":4}' });
      expect(res.status).toBe(200);
      await closed; // the trickling client is cut at its deadline
      expect(trickle.destroyed).toBe(true);
    } finally {
      await g.close();
    }
  });

  it('replaces a stale socket, but never a live one or a file that is not a socket', async () => {
    const dir = tmp();
    const path = join(dir, 'kms.sock');
    // A stale socket: a server killed with SIGKILL leaves its socket file behind, as after a crash.
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(statSync(path).isSocket()).toBe(true);
    const g = await startGateway(parseAddress(`unix:${path}`), fake);
    // A second gateway on the live path is refused instead of stealing it.
    await expect(startGateway(parseAddress(`unix:${path}`), fake)).rejects.toMatchObject({
      code: 'ERR_UNIX_SOCKET_PATH',
      message: expect.stringContaining('in use'),
    });
    expect((await post(path)).status).toBe(200);
    await g.close();
    const file = join(dir, 'not-a-socket');
    writeFileSync(file, 'keep me');
    await expect(startGateway(parseAddress(`unix:${file}`), fake)).rejects.toMatchObject({ code: 'ERR_UNIX_SOCKET_PATH' });
    expect(readFileSync(file, 'utf8')).toBe('keep me');
  });

  it('answers over its concurrency limit with ThrottlingException', async () => {
    let release: () => void = () => undefined;
    const slow: GatewayKms = { ...fake, generateRandom: () => new Promise((r) => (release = () => r(new Uint8Array(4)))) };
    const g = await startGateway(parseAddress('tcp:127.0.0.1:0'), slow, { maxConcurrentRequests: 1 });
    const base = `http://${g.address.slice('tcp:'.length)}/`;
    const send = () => fetch(base, { method: 'POST', headers: { 'x-amz-target': 'TrentService.GenerateRandom' }, body: JSON.stringify({ NumberOfBytes: 4 }) });
    try {
      const first = send();
      await new Promise((r) => setTimeout(r, 100));
      const second = await send();
      expect(second.status).toBe(400);
      expect(((await second.json()) as { __type: string }).__type).toBe('ThrottlingException');
      release();
      expect((await first).status).toBe(200);
    } finally {
      await g.close();
    }
  });

  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  it('GET /attestation?nonce=HEX answers with the NSM document over that nonce; a bad nonce is 400; without attest there is no such endpoint', async () => {
    const seen: Uint8Array[] = [];
    const g = await startGateway(parseAddress('tcp:127.0.0.1:0'), fake, {
      attest: async (nonce) => {
        seen.push(nonce);
        return new Uint8Array([0xd2, 0x84, ...nonce]);
      },
    });
    try {
      const base = `http://${g.address.slice('tcp:'.length)}`;
      const ok = await fetch(`${base}/attestation?nonce=00FF10`);
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toBe('application/cbor');
      expect(new Uint8Array(await ok.arrayBuffer())).toEqual(new Uint8Array([0xd2, 0x84, 0x00, 0xff, 0x10]));
      for (const bad of ['', '?nonce=', '?nonce=abc', `?nonce=${'00'.repeat(1025)}`]) expect((await fetch(`${base}/attestation${bad}`)).status, bad).toBe(400);
      expect(seen).toHaveLength(1);
    } finally {
      await g.close();
    }
    expect((await fetch(`${url}attestation?nonce=00`)).status).not.toBe(200);
  });
});

/** Runs a command and resolves with its stdout (the gateway runs in this process: no spawnSync). */
function spawnAsync(file: string, args: string[], options: SpawnOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...options, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.once('error', reject);
    child.once('exit', () => resolve(out));
  });
}
