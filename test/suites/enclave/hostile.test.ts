import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttestedKmsClient, type AttestedKmsClientOptions, KeyManager } from '@nitro-datakey/enclave';
import { buildCiphertextForRecipient } from '@nitro-datakey/shared/testing';
import { decodeAttestation, type Nsm } from '@nitro-datakey/shared';
import { EncryptCommand } from '@aws-sdk/client-kms';
import { type AuditEvent, loadOrCreateTls, NitroPki, SimulatedNsm, type Stack, startStack } from '@nitro-datakey/devkit';
import { tcpServer } from '../../support/index.js';
import { scratchDir } from '../../support/scratch.js';

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'OK',
    (e: { code?: string }) => e.code ?? String(e),
  );

describe('a hostile parent', () => {
  it('flipping one byte on the way back breaks TLS: the call fails clearly, nothing is accepted', async () => {
    const stack = await startStack();
    // A man in the middle on the parent: forwards to the real proxy route, flipping one byte KMS -> enclave.
    const [, , routePort] = /^tcp:(.+):(\d+)$/.exec(stack.proxy.routes[0]?.listen as string) ?? [];
    let flipped = 0;
    const mitm = await tcpServer((down) => {
      const up: Socket = connect({ host: '127.0.0.1', port: Number(routePort) });
      down.on('error', () => up.destroy());
      up.on('error', () => down.destroy());
      down.pipe(up);
      let seen = 0;
      up.on('data', (chunk: Buffer) => {
        if (seen <= 200 && seen + chunk.length > 200) {
          chunk[200 - seen] = (chunk[200 - seen] as number) ^ 0x01;
          flipped++;
        }
        seen += chunk.length;
        down.write(chunk);
      });
      up.on('end', () => down.end());
    });
    try {
      const client = stack.clientFor(stack.nsm, { transport: `tcp:127.0.0.1:${mitm.port}`, maxAttempts: 1 });
      const t = Date.now();
      const e = await client.generateDataKey({ KeyId: stack.keyId, KeySpec: 'AES_256' }).catch((err: { code: string; message: string }) => err);
      expect(Date.now() - t).toBeLessThan(5000); // fails at once, not at a timeout
      expect(flipped).toBeGreaterThan(0);
      expect((e as { code: string }).code).toBe('ERR_KMS_TRANSPORT');
      expect((e as { message: string }).message).toMatch(/connection to KMS failed.*(bad record mac|EPROTO|ECONNRESET)/);
    } finally {
      await mitm.close();
      await stack.close();
    }
  });
});

describe('a parent that cuts the connection after the request', () => {
  it('fails the KMS call at once as a transport failure, not at the deadline', async () => {
    const stack = await startStack();
    const [, , routePort] = /^tcp:(.+):(\d+)$/.exec(stack.proxy.routes[0]?.listen as string) ?? [];
    // Forwards everything, then cuts both ways once the enclave has gone quiet (its request is out) while
    // KMS takes its time: the answer never comes back.
    const cutter = await tcpServer((down) => {
      const up: Socket = connect({ host: '127.0.0.1', port: Number(routePort) });
      let quiet: NodeJS.Timeout | undefined;
      down.on('data', (d: Buffer) => {
        up.write(d);
        clearTimeout(quiet);
        quiet = setTimeout(() => {
          down.destroy();
          up.destroy();
        }, 300);
      });
      up.on('data', (d: Buffer) => down.write(d));
      down.on('error', () => up.destroy());
      up.on('error', () => down.destroy());
    });
    stack.kms.faults.set({ latencyMs: 5_000 });
    try {
      const client = stack.clientFor(stack.nsm, { transport: `tcp:127.0.0.1:${cutter.port}`, requestTimeoutMs: 30_000, maxAttempts: 1 });
      const t = Date.now();
      const e = await client.generateRandom({ NumberOfBytes: 8 }).catch((err: { code: string; message: string }) => err);
      expect(Date.now() - t).toBeLessThan(15_000); // at once: KMS's answer would come at 5 s, the deadline at 30 s
      expect(e).toMatchObject({ code: 'ERR_KMS_TRANSPORT', message: expect.stringMatching(/cut.*ECONNRESET/) });
    } finally {
      stack.kms.faults.set({});
      await cutter.close();
      await stack.close();
    }
  });

  it('fails a credentials fetch at once when the route closes without an answer', async () => {
    const { fetchParentCredentials } = await import('@nitro-datakey/enclave');
    const closer = await tcpServer((s) => {
      s.once('data', () => s.destroy());
      s.once('end', () => s.destroy());
    });
    try {
      const t = Date.now();
      await expect(fetchParentCredentials(`tcp:127.0.0.1:${closer.port}`, 20_000)).rejects.toMatchObject({ code: expect.stringMatching(/^ERR_CREDENTIALS_/) });
      expect(Date.now() - t).toBeLessThan(10_000);
    } finally {
      await closer.close();
    }
  });
});

type ImpostorAnswer = { status: number; body?: unknown; stall?: boolean };

/**
 * A KMS impostor with a certificate the client trusts: the worst a compromised path could present.
 * Each test sets `behaviour`; `requests` counts what reached it.
 */
interface Impostor {
  behaviour: (body: Record<string, unknown>, target: string) => ImpostorAnswer;
  requests: number;
  readonly nsm: Nsm;
  client(extra?: Partial<AttestedKmsClientOptions>): AttestedKmsClient;
  close(): void;
}

async function startImpostor(dirPrefix: string): Promise<Impostor> {
  const tls = await loadOrCreateTls(scratchDir(dirPrefix), new Date());
  const nsm = await SimulatedNsm.client({ pki: await NitroPki.create() });
  const impostor: Impostor = {
    behaviour: () => ({ status: 500 }),
    requests: 0,
    nsm,
    client: (extra = {}) =>
      new AttestedKmsClient({
        nsm,
        region: 'us-east-1',
        transport: `tcp:127.0.0.1:${port}`,
        endpoint: `https://localhost:${port}`,
        ca: tls.caCertPem,
        credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
        keys: { poolSize: 1 },
        maxAttempts: 1,
        ...extra,
      }),
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
  const server: Server = createHttpsServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      impostor.requests++;
      const out = impostor.behaviour(JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown>, String(req.headers['x-amz-target']));
      if (out.stall) return; // never answers
      res.writeHead(out.status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(out.body ?? {}));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return impostor;
}

/** The enclave's public key, read back from the document it sent. */
const recipientKey = (body: Record<string, unknown>) =>
  decodeAttestation(new Uint8Array(Buffer.from(String((body['Recipient'] as Record<string, string>)['AttestationDocument']), 'base64'))).document
    .publicKey as Uint8Array;

describe('a hostile KMS', () => {
  let kms: Impostor;
  beforeAll(async () => {
    kms = await startImpostor('ndk-evil-');
  });
  afterAll(() => kms?.close());

  const K = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  const client = (extra: Partial<AttestedKmsClientOptions> = {}) => kms.client(extra);

  it('one that omits CiphertextForRecipient is refused', async () => {
    kms.behaviour = () => ({ status: 200, body: { KeyId: K, CiphertextBlob: 'AAAA' } });
    const c = client();
    expect(await codeOf(c.generateDataKey({ KeyId: K, KeySpec: 'AES_256' }))).toBe('ERR_KMS_NO_CIPHERTEXT_FOR_RECIPIENT');
    expect(await codeOf(c.generateRandom({ NumberOfBytes: 8 }))).toBe('ERR_KMS_NO_CIPHERTEXT_FOR_RECIPIENT');
    c.close();
  });

  it('a KMS error that is not throttling passes through by name', async () => {
    kms.behaviour = () => ({ status: 400, body: { __type: 'AccessDeniedException', message: 'no' } });
    const c = client();
    const denied = await c.generateDataKey({ KeyId: K, KeySpec: 'AES_256' }).catch((e: { code: string; kmsErrorName: string }) => e);
    expect(denied).toMatchObject({ code: 'ERR_KMS_REQUEST_FAILED', kmsErrorName: 'AccessDeniedException' });
    c.close();
  });
});

/*
 * The hostile answers the local KMS can give itself (fault injection): the real KMS path, proxy and
 * TLS included, with only the answer turned hostile. The audit trail counts what reached KMS.
 */
describe('a hostile KMS, played by the local KMS through fault injection', () => {
  let stack: Stack;
  const audit: AuditEvent[] = [];
  beforeAll(async () => {
    stack = await startStack({ kms: { audit: (e) => audit.push(e) } });
  });
  afterAll(async () => {
    await stack?.close();
  });
  const injected = (fault: string) => audit.filter((e) => e.additionalEventData?.['injectedFault'] === fault).length;

  it('one that returns the plaintext beside a valid CiphertextForRecipient is refused, for every attested operation', async () => {
    const c = stack.clientFor(stack.nsm, { maxAttempts: 1 });
    try {
      const { CiphertextBlob } = await c.sdk.send(new EncryptCommand({ KeyId: stack.keyId, Plaintext: new Uint8Array([1, 2, 3]) }));
      stack.kms.faults.set({ attested: 'plaintext' });
      expect(await codeOf(c.generateDataKey({ KeyId: stack.keyId, KeySpec: 'AES_256' }))).toBe('ERR_KMS_PLAINTEXT_IN_RESPONSE');
      expect(await codeOf(c.generateDataKeyPair({ KeyId: stack.keyId, KeyPairSpec: 'ECC_NIST_P256' }))).toBe('ERR_KMS_PLAINTEXT_IN_RESPONSE');
      expect(await codeOf(c.generateRandom({ NumberOfBytes: 16 }))).toBe('ERR_KMS_PLAINTEXT_IN_RESPONSE');
      expect(await codeOf(c.decrypt({ KeyId: stack.keyId, CiphertextBlob: CiphertextBlob as Uint8Array }))).toBe('ERR_KMS_PLAINTEXT_IN_RESPONSE');
      expect(injected('plaintext')).toBe(4);
    } finally {
      stack.kms.faults.set({});
      c.close();
    }
  });

  it('one that seals CiphertextForRecipient to another key is refused', async () => {
    stack.kms.faults.set({ attested: 'foreign-recipient' });
    const c = stack.clientFor(stack.nsm, { maxAttempts: 1 });
    try {
      expect(await codeOf(c.generateDataKey({ KeyId: stack.keyId, KeySpec: 'AES_256' }))).toBe('ERR_KMS_RECIPIENT_MISMATCH');
      expect(injected('foreign-recipient')).toBe(1);
    } finally {
      stack.kms.faults.set({});
      c.close();
    }
  });

  it('one that is too slow runs into the timeout', async () => {
    stack.kms.faults.set({ latencyMs: 1_500 });
    const c = stack.clientFor(stack.nsm, { maxAttempts: 1, requestTimeoutMs: 300 });
    const recorded = audit.length;
    try {
      const t = Date.now();
      expect(await codeOf(c.generateDataKey({ KeyId: stack.keyId, KeySpec: 'AES_256' }))).toBe('ERR_KMS_TIMEOUT');
      expect(Date.now() - t).toBeLessThan(1_400);
    } finally {
      c.close();
      // KMS still finishes the abandoned request: wait for it, so it draws no fault a later test sets.
      for (let i = 0; i < 100 && audit.length === recorded; i++) await new Promise((r) => setTimeout(r, 50));
      stack.kms.faults.set({});
    }
  });

  it('throttling is retried with backoff, then reported clearly', async () => {
    stack.kms.faults.set({ throttle: { rate: 1 } });
    const c = stack.clientFor(stack.nsm, { maxAttempts: 3 });
    try {
      const before = injected('throttle');
      const t = Date.now();
      expect(await codeOf(c.generateDataKey({ KeyId: stack.keyId, KeySpec: 'AES_256' }))).toBe('ERR_KMS_THROTTLED');
      expect(injected('throttle') - before).toBe(3); // three attempts reached KMS
      expect(Date.now() - t).toBeGreaterThan(50); // the SDK backed off between attempts
      // Two throttled answers, then KMS answers: the retries carry the call through.
      stack.kms.faults.set({ throttle: { next: 2 } });
      const dk = await c.generateDataKey({ KeyId: stack.keyId, KeySpec: 'AES_256' });
      expect(dk.plaintext.length).toBe(32);
    } finally {
      stack.kms.faults.set({});
      c.close();
    }
  });
});

describe('a hostile KMS, answers that do not fit the request', () => {
  let kms: Impostor;
  const K = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  const OTHER = 'arn:aws:kms:us-east-1:999999999999:key/1234abcd-12ab-34cd-56ef-1234567890ab';

  beforeAll(async () => {
    kms = await startImpostor('ndk-hostile2-');
  });
  afterAll(() => kms?.close());

  const client = (extra: Partial<AttestedKmsClientOptions> = {}) => kms.client(extra);
  /** An answer with `secret` in CiphertextForRecipient, addressed to the caller's key, plus `fields`. */
  const answering = (secret: Uint8Array, fields: Record<string, unknown>) => (body: Record<string, unknown>) => ({
    status: 200,
    body: { CiphertextForRecipient: Buffer.from(buildCiphertextForRecipient(secret, recipientKey(body))).toString('base64'), ...fields },
  });

  it('refuses an answer about another key, or about no key (the parent chose the account)', async () => {
    const c = client();
    kms.behaviour = answering(new Uint8Array(32), { KeyId: OTHER, CiphertextBlob: 'AAAA' });
    expect(await codeOf(c.generateDataKey({ KeyId: K, KeySpec: 'AES_256' }))).toBe('ERR_KMS_WRONG_KEY');
    kms.behaviour = answering(new Uint8Array(32), { CiphertextBlob: 'AAAA' });
    expect(await codeOf(c.generateDataKey({ KeyId: K, KeySpec: 'AES_256' }))).toBe('ERR_KMS_WRONG_KEY');
    kms.behaviour = answering(new Uint8Array(32), { KeyId: OTHER });
    expect(await codeOf(c.decrypt({ CiphertextBlob: new Uint8Array([1]), KeyId: K }))).toBe('ERR_KMS_WRONG_KEY');
    c.close();
  });

  it('refuses an alias or key id it cannot pin to an ARN, before anything is sent', async () => {
    const c = client();
    const before = kms.requests;
    for (const keyId of ['alias/app', '1234abcd-12ab-34cd-56ef-1234567890ab', 'arn:aws:kms:us-east-1:111122223333:alias/app']) {
      expect(await codeOf(c.generateDataKey({ KeyId: keyId, KeySpec: 'AES_256' })), keyId).toBe('ERR_KMS_WRONG_KEY');
    }
    expect(await codeOf(c.decrypt({ CiphertextBlob: new Uint8Array([1]) }))).toBe('ERR_KMS_WRONG_KEY');
    expect(kms.requests).toBe(before);
    // With allowedKeys, the alias maps to its ARN and the answer must name that ARN.
    const pinned = client({ allowedKeys: { 'alias/app': K } });
    kms.behaviour = answering(new Uint8Array(32).fill(3), { KeyId: K, CiphertextBlob: 'AAAA' });
    expect((await pinned.generateDataKey({ KeyId: 'alias/app', KeySpec: 'AES_256' })).keyId).toBe(K);
    expect(await codeOf(pinned.generateDataKey({ KeyId: OTHER, KeySpec: 'AES_256' }))).toBe('ERR_KMS_WRONG_KEY');
    c.close();
    pinned.close();
  });

  it('refuses data keys and random bytes of another length than asked', async () => {
    const c = client();
    for (const length of [0, 1, 16, 64]) {
      kms.behaviour = answering(new Uint8Array(length), { KeyId: K, CiphertextBlob: 'AAAA' });
      expect(await codeOf(c.generateDataKey({ KeyId: K, KeySpec: 'AES_256' })), `${length} bytes`).toBe('ERR_KMS_BAD_RESPONSE');
    }
    kms.behaviour = answering(new Uint8Array(32), { KeyId: K, CiphertextBlob: 'AAAA' });
    expect(await codeOf(c.generateDataKey({ KeyId: K, KeySpec: 'AES_128' }))).toBe('ERR_KMS_BAD_RESPONSE');
    kms.behaviour = answering(new Uint8Array(4096), {});
    expect(await codeOf(c.generateRandom({ NumberOfBytes: 32 }))).toBe('ERR_KMS_BAD_RESPONSE');
    c.close();
  });

  it('refuses a key pair of another spec, or whose private key does not match its PublicKey', async () => {
    const c = client();
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pkcs8 = new Uint8Array(pair.privateKey.export({ format: 'der', type: 'pkcs8' }));
    const spki = (k: KeyObject) => Buffer.from(k.export({ format: 'der', type: 'spki' })).toString('base64');
    const fields = { KeyId: K, PrivateKeyCiphertextBlob: 'AAAA' };
    kms.behaviour = answering(pkcs8, { ...fields, KeyPairSpec: 'RSA_2048', PublicKey: spki(pair.publicKey) });
    expect((await c.generateDataKeyPair({ KeyId: K, KeyPairSpec: 'RSA_2048' })).keyPairSpec).toBe('RSA_2048');
    kms.behaviour = answering(pkcs8, { ...fields, KeyPairSpec: 'RSA_3072', PublicKey: spki(pair.publicKey) });
    expect(await codeOf(c.generateDataKeyPair({ KeyId: K, KeyPairSpec: 'RSA_2048' }))).toBe('ERR_KMS_BAD_RESPONSE');
    kms.behaviour = answering(pkcs8, { ...fields, KeyPairSpec: 'RSA_2048', PublicKey: spki(other.publicKey) });
    expect(await codeOf(c.generateDataKeyPair({ KeyId: K, KeyPairSpec: 'RSA_2048' }))).toBe('ERR_KMS_BAD_RESPONSE');
    kms.behaviour = answering(new Uint8Array(40).fill(1), { ...fields, KeyPairSpec: 'RSA_2048', PublicKey: spki(pair.publicKey) });
    expect(await codeOf(c.generateDataKeyPair({ KeyId: K, KeyPairSpec: 'RSA_2048' }))).toBe('ERR_KMS_BAD_RESPONSE');
    c.close();
  });

  it('refuses a matching key pair of another type or size than the spec asked for', async () => {
    const c = client();
    const fields = { KeyId: K, PrivateKeyCiphertextBlob: 'AAAA' };
    // A pair that matches itself, answered under the spec the caller asked for: only its type and size are wrong.
    const answerWith = (pair: { privateKey: KeyObject; publicKey: KeyObject }, spec: string) =>
      answering(new Uint8Array(pair.privateKey.export({ format: 'der', type: 'pkcs8' })), {
        ...fields,
        KeyPairSpec: spec,
        PublicKey: Buffer.from(pair.publicKey.export({ format: 'der', type: 'spki' })).toString('base64'),
      });
    const cases: [string, { privateKey: KeyObject; publicKey: KeyObject }][] = [
      ['RSA_3072', generateKeyPairSync('rsa', { modulusLength: 2048 })],
      ['RSA_2048', generateKeyPairSync('ec', { namedCurve: 'prime256v1' })],
      ['ECC_NIST_P384', generateKeyPairSync('ec', { namedCurve: 'prime256v1' })],
      ['ECC_SECG_P256K1', generateKeyPairSync('ec', { namedCurve: 'prime256v1' })],
      ['ECC_NIST_P256', generateKeyPairSync('ed25519')],
    ];
    for (const [spec, pair] of cases) {
      kms.behaviour = answerWith(pair, spec);
      expect(await codeOf(c.generateDataKeyPair({ KeyId: K, KeyPairSpec: spec as 'RSA_2048' })), spec).toBe('ERR_KMS_BAD_RESPONSE');
    }
    kms.behaviour = answerWith(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }), 'ECC_NIST_P384');
    expect((await c.generateDataKeyPair({ KeyId: K, KeyPairSpec: 'ECC_NIST_P384' })).keyPairSpec).toBe('ECC_NIST_P384');
    c.close();
  });

  it("refuses a shared secret that is not the length of the curve of the other party's key", async () => {
    const c = client();
    const curves: [string, number][] = [
      ['prime256v1', 32],
      ['secp384r1', 48],
      ['secp521r1', 66],
      ['secp256k1', 32],
    ];
    for (const [curve, size] of curves) {
      const peer = new Uint8Array(generateKeyPairSync('ec', { namedCurve: curve }).publicKey.export({ format: 'der', type: 'spki' }));
      for (const length of [size - 1, size + 1, size === 32 ? 48 : 32]) {
        kms.behaviour = answering(new Uint8Array(length).fill(7), { KeyId: K });
        expect(await codeOf(c.deriveSharedSecret({ KeyId: K, PublicKey: peer })), `${curve} ${length}`).toBe('ERR_KMS_BAD_RESPONSE');
      }
      kms.behaviour = answering(new Uint8Array(size).fill(7), { KeyId: K });
      expect((await c.deriveSharedSecret({ KeyId: K, PublicKey: peer })).sharedSecret, curve).toHaveLength(size);
    }
    c.close();
  });

  it('treats an empty Plaintext beside CiphertextForRecipient as absent (AWS: "null or empty"), and one byte as leaked', async () => {
    const c = client();
    kms.behaviour = answering(new Uint8Array(32).fill(5), { KeyId: K, CiphertextBlob: 'AAAA', Plaintext: '' });
    expect((await c.generateDataKey({ KeyId: K, KeySpec: 'AES_256' })).plaintext).toEqual(new Uint8Array(32).fill(5));
    kms.behaviour = answering(new Uint8Array(32).fill(5), { KeyId: K, CiphertextBlob: 'AAAA', Plaintext: 'AA==' });
    expect(await codeOf(c.generateDataKey({ KeyId: K, KeySpec: 'AES_256' }))).toBe('ERR_KMS_PLAINTEXT_IN_RESPONSE');
    c.close();
  });

  it('never hangs: close() releases a call in flight, and later calls are refused at once', async () => {
    kms.behaviour = () => ({ status: 200, stall: true });
    const c = client({ requestTimeoutMs: 60_000 });
    await c.keys.warm(1);
    const t = Date.now();
    const pending = codeOf(c.generateDataKey({ KeyId: K, KeySpec: 'AES_256' }));
    await new Promise((r) => setTimeout(r, 100));
    c.close();
    expect(await pending).toBe('ERR_KMS_CLIENT_CLOSED');
    expect(Date.now() - t).toBeLessThan(5_000);
    expect(await codeOf(c.generateRandom({ NumberOfBytes: 8 }))).toBe('ERR_KMS_CLIENT_CLOSED');
  });

  it('the deadline covers a stuck NSM and an empty key pool, not only KMS', async () => {
    const stuckNsm = { ...kms.nsm, attest: () => new Promise<Uint8Array>(() => undefined) } as Nsm;
    const c = client({ nsm: stuckNsm, requestTimeoutMs: 300 });
    await c.keys.warm(1);
    expect(await codeOf(c.generateDataKey({ KeyId: K, KeySpec: 'AES_256' }))).toBe('ERR_KMS_TIMEOUT');
    c.close();
    const noKeys = client({ requestTimeoutMs: 300, keys: new KeyManager({ generateKeyPair: () => new Promise(() => undefined) }) });
    const t = Date.now();
    expect(await codeOf(noKeys.generateDataKey({ KeyId: K, KeySpec: 'AES_256' }))).toBe('ERR_KMS_TIMEOUT');
    expect(Date.now() - t).toBeLessThan(5_000);
    noKeys.close();
  });
});

const hasMoto = spawnSync('moto_server', ['--help']).status === 0;
describe.skipIf(!hasMoto)(`moto's KMS server${hasMoto ? '' : ' (SKIPPED: moto_server is not installed)'}`, () => {
  it('ignores Recipient and answers with Plaintext: our client refuses it', async () => {
    const tlsDir = scratchDir('ndk-moto-');
    const tls = await loadOrCreateTls(tlsDir, new Date());
    const portProbe = await tcpServer(() => undefined);
    const port = portProbe.port;
    await portProbe.close();
    const moto = spawn(
      'moto_server',
      ['-H', '127.0.0.1', '-p', String(port), '-c', join(tlsDir, 'tls', 'server.pem'), '-k', join(tlsDir, 'tls', 'server-key.pem')],
      { stdio: 'ignore' },
    );
    try {
      for (let i = 0; ; i++) {
        const up = await new Promise<boolean>((r) =>
          connect({ host: '127.0.0.1', port })
            .once('connect', function (this: Socket) {
              this.destroy();
              r(true);
            })
            .once('error', () => r(false)),
        );
        if (up) break;
        if (i > 100) throw new Error('moto_server did not start');
        await new Promise((r) => setTimeout(r, 100));
      }
      const nsm = await SimulatedNsm.client({ pki: await NitroPki.create() });
      const c = new AttestedKmsClient({
        nsm,
        region: 'us-east-1',
        transport: `tcp:127.0.0.1:${port}`,
        endpoint: `https://localhost:${port}`,
        ca: tls.caCertPem,
        credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
        keys: { poolSize: 1 },
        maxAttempts: 1,
      });
      const { CreateKeyCommand } = await import('@aws-sdk/client-kms');
      const keyId = (await c.sdk.send(new CreateKeyCommand({}))).KeyMetadata?.Arn as string;
      expect(await codeOf(c.generateDataKey({ KeyId: keyId, KeySpec: 'AES_256' }))).toBe('ERR_KMS_PLAINTEXT_IN_RESPONSE');
      c.close();
    } finally {
      moto.kill();
    }
  }, 60_000);
});
