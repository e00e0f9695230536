import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttestedKmsClient, type AttestedKmsClientOptions } from '@nitro-datakey/enclave';
import { buildCiphertextForRecipient } from '@nitro-datakey/shared/testing';
import { decodeAttestation, type Nsm } from '@nitro-datakey/shared';
import { loadOrCreateTls, NitroPki, SimulatedNsm, startStack, type TlsMaterial } from '@nitro-datakey/devkit';
import { tcpServer } from '../../support/index.js';

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

/** A KMS impostor with a certificate the client trusts: the worst a compromised path could present. */
describe('a hostile KMS', () => {
  let tls: TlsMaterial;
  let pki: NitroPki;
  let nsm: Nsm;
  let server: Server;
  let port: number;
  let behaviour: (body: Record<string, unknown>, target: string) => { status: number; body?: unknown; stall?: boolean };
  let requests = 0;

  beforeAll(async () => {
    tls = await loadOrCreateTls(mkdtempSync(join(tmpdir(), 'ndk-evil-')), new Date());
    pki = await NitroPki.create();
    nsm = await SimulatedNsm.client({ pki });
    server = createHttpsServer({ cert: tls.cert, key: tls.key }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        requests++;
        const out = behaviour(JSON.parse(Buffer.concat(chunks).toString() || '{}'), String(req.headers['x-amz-target']));
        if (out.stall) return; // never answers
        res.writeHead(out.status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(out.body ?? {}));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => {
    server?.closeAllConnections();
    server?.close();
  });

  const client = (extra: Partial<AttestedKmsClientOptions> = {}) =>
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
    });
  /** The enclave's public key, read back from the document it sent. */
  const recipientKey = (body: Record<string, unknown>) =>
    decodeAttestation(new Uint8Array(Buffer.from(String((body['Recipient'] as Record<string, string>)['AttestationDocument']), 'base64'))).document
      .publicKey as Uint8Array;

  it('one that returns Plaintext beside a valid CiphertextForRecipient is refused', async () => {
    behaviour = (body) => {
      const dataKey = new Uint8Array(32).fill(9);
      return {
        status: 200,
        body: {
          KeyId: 'arn:aws:kms:us-east-1:111122223333:key/x',
          CiphertextBlob: 'AAAA',
          Plaintext: Buffer.from(dataKey).toString('base64'),
          CiphertextForRecipient: Buffer.from(buildCiphertextForRecipient(dataKey, recipientKey(body))).toString('base64'),
        },
      };
    };
    const c = client();
    expect(await codeOf(c.generateDataKey({ KeyId: 'k', KeySpec: 'AES_256' }))).toBe('ERR_KMS_PLAINTEXT_IN_RESPONSE');
    behaviour = () => ({
      status: 200,
      body: { KeyId: 'x', KeyPairSpec: 'RSA_2048', PublicKey: 'AAAA', PrivateKeyCiphertextBlob: 'AAAA', PrivateKeyPlaintext: 'AAAA' },
    });
    expect(await codeOf(c.generateDataKeyPair({ KeyId: 'k', KeyPairSpec: 'RSA_2048' }))).toBe('ERR_KMS_PLAINTEXT_IN_RESPONSE');
    c.close();
  });

  it('one that omits CiphertextForRecipient is refused', async () => {
    behaviour = () => ({ status: 200, body: { KeyId: 'x', CiphertextBlob: 'AAAA' } });
    const c = client();
    expect(await codeOf(c.generateDataKey({ KeyId: 'k', KeySpec: 'AES_256' }))).toBe('ERR_KMS_NO_CIPHERTEXT_FOR_RECIPIENT');
    expect(await codeOf(c.generateRandom({ NumberOfBytes: 8 }))).toBe('ERR_KMS_NO_CIPHERTEXT_FOR_RECIPIENT');
    c.close();
  });

  it('one that seals CiphertextForRecipient to another key is refused', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    behaviour = () => ({
      status: 200,
      body: {
        KeyId: 'x',
        CiphertextBlob: 'AAAA',
        CiphertextForRecipient: Buffer.from(buildCiphertextForRecipient(new Uint8Array(32), other)).toString('base64'),
      },
    });
    const c = client();
    expect(await codeOf(c.generateDataKey({ KeyId: 'k', KeySpec: 'AES_256' }))).toBe('ERR_KMS_RECIPIENT_MISMATCH');
    c.close();
  });

  it('one that stalls runs into the timeout', async () => {
    behaviour = () => ({ status: 200, stall: true });
    const c = client({ requestTimeoutMs: 500 });
    const t = Date.now();
    expect(await codeOf(c.generateDataKey({ KeyId: 'k', KeySpec: 'AES_256' }))).toBe('ERR_KMS_TIMEOUT');
    expect(Date.now() - t).toBeLessThan(5000);
    c.close();
  });

  it('throttling is retried with backoff, then reported clearly', async () => {
    behaviour = () => ({ status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } });
    requests = 0;
    const c = client({ maxAttempts: 3 });
    const t = Date.now();
    expect(await codeOf(c.generateDataKey({ KeyId: 'k', KeySpec: 'AES_256' }))).toBe('ERR_KMS_THROTTLED');
    expect(requests).toBe(3);
    expect(Date.now() - t).toBeGreaterThan(50); // the SDK backed off between attempts
    // A KMS error that is not throttling passes through by name.
    behaviour = () => ({ status: 400, body: { __type: 'AccessDeniedException', message: 'no' } });
    const denied = await c.generateDataKey({ KeyId: 'k', KeySpec: 'AES_256' }).catch((e: { code: string; kmsErrorName: string }) => e);
    expect(denied).toMatchObject({ code: 'ERR_KMS_REQUEST_FAILED', kmsErrorName: 'AccessDeniedException' });
    c.close();
  });
});

const hasMoto = spawnSync('moto_server', ['--help']).status === 0;
describe.skipIf(!hasMoto)(`moto's KMS server${hasMoto ? '' : ' (SKIPPED: moto_server is not installed)'}`, () => {
  it('ignores Recipient and answers with Plaintext: our client refuses it', async () => {
    const tlsDir = mkdtempSync(join(tmpdir(), 'ndk-moto-'));
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
      const keyId = (await c.sdk.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
      expect(await codeOf(c.generateDataKey({ KeyId: keyId, KeySpec: 'AES_256' }))).toBe('ERR_KMS_PLAINTEXT_IN_RESPONSE');
      c.close();
    } finally {
      moto.kill();
    }
  }, 60_000);
});
