import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NitroDatakeyError } from '@nitro-datakey/shared';
import type { AttestedKmsClient } from '../kms/attested-client.js';
import { AttestedKmsError } from '../kms/errors.js';
import { formatAddress, type TransportAddress } from '../transport/address.js';

type Handler = (body: Record<string, unknown>, client: AttestedKmsClient) => Promise<Record<string, unknown>>;

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
/** Encodes key material for the caller and zeroes our copy. */
const b64Wipe = (bytes: Uint8Array): string => {
  const text = b64(bytes);
  bytes.fill(0);
  return text;
};
const blob = (v: unknown, name: string): Uint8Array => {
  if (typeof v !== 'string') throw new GatewayError('ValidationException', `${name} is required (base64)`);
  return new Uint8Array(Buffer.from(v, 'base64'));
};
const str = (v: unknown, name: string): string => {
  if (typeof v !== 'string' || v.length === 0) throw new GatewayError('ValidationException', `${name} is required`);
  return v;
};
const context = (v: unknown): Record<string, string> | undefined => (v && typeof v === 'object' ? (v as Record<string, string>) : undefined);

class GatewayError extends Error {
  constructor(readonly type: string, message: string) {
    super(message);
  }
}

/**
 * What a workload's SDK sees: KMS's JSON protocol, answered with plaintext, for callers inside the
 * enclave only. Every call goes out attested; the plaintext never crosses the parent.
 */
const HANDLERS: Readonly<Record<string, Handler>> = {
  async GenerateDataKey(body, client) {
    const ec = context(body['EncryptionContext']);
    const dk = await client.generateDataKey({
      KeyId: str(body['KeyId'], 'KeyId'),
      ...(typeof body['KeySpec'] === 'string' ? { KeySpec: body['KeySpec'] as 'AES_256' } : {}),
      ...(typeof body['NumberOfBytes'] === 'number' ? { NumberOfBytes: body['NumberOfBytes'] } : {}),
      ...(ec ? { EncryptionContext: ec } : {}),
    });
    return { KeyId: dk.keyId, CiphertextBlob: b64(dk.ciphertextBlob), Plaintext: b64Wipe(dk.plaintext) };
  },
  async Decrypt(body, client) {
    const ec = context(body['EncryptionContext']);
    const r = await client.decrypt({ CiphertextBlob: blob(body['CiphertextBlob'], 'CiphertextBlob'), ...(ec ? { EncryptionContext: ec } : {}), ...(typeof body['KeyId'] === 'string' ? { KeyId: body['KeyId'] } : {}) });
    return { KeyId: r.keyId, Plaintext: b64Wipe(r.plaintext), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
  },
  async GenerateDataKeyPair(body, client) {
    const ec = context(body['EncryptionContext']);
    const p = await client.generateDataKeyPair({ KeyId: str(body['KeyId'], 'KeyId'), KeyPairSpec: str(body['KeyPairSpec'], 'KeyPairSpec') as 'RSA_2048', ...(ec ? { EncryptionContext: ec } : {}) });
    return { KeyId: p.keyId, KeyPairSpec: p.keyPairSpec, PublicKey: b64(p.publicKey), PrivateKeyPlaintext: b64Wipe(p.privateKey), PrivateKeyCiphertextBlob: b64(p.privateKeyCiphertextBlob) };
  },
  async GenerateRandom(body, client) {
    if (typeof body['NumberOfBytes'] !== 'number') throw new GatewayError('ValidationException', 'NumberOfBytes is required');
    return { Plaintext: b64Wipe(await client.generateRandom({ NumberOfBytes: body['NumberOfBytes'] })) };
  },
};

export interface Gateway {
  readonly address: string;
  close(): Promise<void>;
}

export async function startGateway(listen: TransportAddress, client: AttestedKmsClient, log: (entry: Record<string, unknown>) => void = () => undefined): Promise<Gateway> {
  const server: Server = createServer((req, res) => void handle(req, res, client, log));
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (listen.kind === 'tcp') server.listen(listen.port, listen.host, () => resolve());
    else if (listen.kind === 'unix') server.listen(listen.path, () => resolve());
    else reject(new Error('the gateway listens on loopback TCP or a Unix socket'));
  });
  const bound = server.address();
  const address = listen.kind === 'tcp' ? formatAddress({ ...listen, port: (bound as AddressInfo).port }) : formatAddress(listen);
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, client: AttestedKmsClient, log: (entry: Record<string, unknown>) => void): Promise<void> {
  const target = String(req.headers['x-amz-target'] ?? '');
  const operation = target.startsWith('TrentService.') ? target.slice('TrentService.'.length) : '';
  const started = performance.now();
  let status = 200;
  let payload: unknown;
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > 1024 * 1024) throw new GatewayError('SerializationException', 'request body too large');
      chunks.push(c as Buffer);
    }
    const handler = Object.hasOwn(HANDLERS, operation) ? HANDLERS[operation] : undefined;
    if (!handler) throw new GatewayError('UnsupportedOperationException', `the enclave gateway serves GenerateDataKey, Decrypt, GenerateDataKeyPair and GenerateRandom, not ${operation || target || '(no target)'}`);
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    } catch {
      throw new GatewayError('SerializationException', 'the request body is not JSON');
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new GatewayError('SerializationException', 'the request body must be a JSON object');
    payload = await handler(body as Record<string, unknown>, client);
  } catch (e) {
    status = 400;
    if (e instanceof GatewayError) payload = { __type: e.type, message: e.message };
    else if (e instanceof AttestedKmsError) payload = { __type: e.kmsErrorName ?? 'KMSInternalException', message: `${e.code}: ${e.message}` };
    else if (e instanceof NitroDatakeyError) payload = { __type: 'KMSInternalException', message: `${e.code}: ${e.message}` };
    else {
      status = 500;
      payload = { __type: 'KMSInternalException', message: 'internal error in the enclave gateway' };
    }
  }
  const text = JSON.stringify(payload);
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(text) });
  res.end(text);
  // Never the body: it holds plaintext keys.
  log({ level: status === 200 ? 'info' : 'warn', msg: 'gateway request', operation, status, ms: Math.round((performance.now() - started) * 100) / 100 });
}
