import { nonceParameter } from '@nitro-datakey/shared/telemetry';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatAddress, listenUnix, type TransportAddress, unixPeerCredentials } from '@nitro-datakey/native';
import {
  InvalidArgumentError,
  kmsError,
  kmsOperationFromTarget,
  KmsServiceException,
  type KmsRequestBody,
  NitroDatakeyError,
  parseDecryptRequest,
  parseDeriveSharedSecretRequest,
  parseGenerateDataKeyPairRequest,
  parseGenerateDataKeyRequest,
  parseGenerateRandomRequest,
  readKmsRequestBody,
  toBase64,
  writeKmsError,
  writeKmsResponse,
} from '@nitro-datakey/shared';
import { type Logger, silentLogger } from '@nitro-datakey/shared/cli';
import { AttestedKmsError } from '../errors.js';
import type { AttestedKmsClient } from '../kms/attested-client.js';

/** What the gateway needs of the attested client: its four operations (a unit test passes a fake). */
export type GatewayKms = Pick<AttestedKmsClient, 'generateDataKey' | 'decrypt' | 'generateDataKeyPair' | 'generateRandom'> &
  Partial<Pick<AttestedKmsClient, 'deriveSharedSecret'>>;

type Handler = (body: KmsRequestBody, client: GatewayKms) => Promise<Record<string, unknown>>;

/** Encodes key material for the caller and zeroes our copy. */
const toBase64Wiping = (bytes: Uint8Array): string => {
  const text = toBase64(bytes);
  bytes.fill(0);
  return text;
};

/**
 * The gateway attests every call itself: a workload that sends Recipient or DryRun gets a
 * ValidationException rather than a silently different call.
 */
function refuseClientOnlyFields(request: { recipient?: unknown; dryRun?: boolean }): void {
  if (request.recipient !== undefined) throw kmsError.validation('The enclave gateway attests every call itself: do not send Recipient.');
  if (request.dryRun) throw kmsError.validation('The enclave gateway does not support DryRun.');
}

/**
 * What a workload's SDK sees: KMS's JSON protocol, read with the same strict request readers as the
 * local KMS, answered with plaintext, for callers inside the enclave only. Every call goes out
 * attested; the plaintext never crosses the parent.
 */
const HANDLERS: Readonly<Record<string, Handler>> = {
  async GenerateDataKey(body, client) {
    const r = parseGenerateDataKeyRequest(body);
    refuseClientOnlyFields(r);
    const dk = await client.generateDataKey({
      KeyId: r.keyId,
      ...(r.keySpec ? { KeySpec: r.keySpec } : { NumberOfBytes: r.numberOfBytes }),
      EncryptionContext: r.encryptionContext,
    });
    return { KeyId: dk.keyId, CiphertextBlob: toBase64(dk.ciphertextBlob), Plaintext: toBase64Wiping(dk.plaintext) };
  },
  async Decrypt(body, client) {
    const r = parseDecryptRequest(body);
    refuseClientOnlyFields(r);
    const out = await client.decrypt({
      CiphertextBlob: r.ciphertextBlob,
      EncryptionContext: r.encryptionContext,
      ...(r.keyId !== undefined ? { KeyId: r.keyId } : {}),
    });
    return { KeyId: out.keyId, Plaintext: toBase64Wiping(out.plaintext), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
  },
  async GenerateDataKeyPair(body, client) {
    const r = parseGenerateDataKeyPairRequest(body);
    refuseClientOnlyFields(r);
    const p = await client.generateDataKeyPair({ KeyId: r.keyId, KeyPairSpec: r.keyPairSpec, EncryptionContext: r.encryptionContext });
    return {
      KeyId: p.keyId,
      KeyPairSpec: p.keyPairSpec,
      PublicKey: toBase64(p.publicKey),
      PrivateKeyPlaintext: toBase64Wiping(p.privateKey),
      PrivateKeyCiphertextBlob: toBase64(p.privateKeyCiphertextBlob),
    };
  },
  async DeriveSharedSecret(body, client) {
    const r = parseDeriveSharedSecretRequest(body);
    refuseClientOnlyFields(r);
    if (!client.deriveSharedSecret) throw new KmsServiceException('UnsupportedOperationException', 'this gateway does not serve DeriveSharedSecret');
    const out = await client.deriveSharedSecret({ KeyId: r.keyId, PublicKey: r.publicKey });
    return { KeyId: out.keyId, SharedSecret: toBase64Wiping(out.sharedSecret), KeyAgreementAlgorithm: 'ECDH', KeyOrigin: 'AWS_KMS' };
  },
  async GenerateRandom(body, client) {
    const r = parseGenerateRandomRequest(body);
    refuseClientOnlyFields(r);
    return { Plaintext: toBase64Wiping(await client.generateRandom({ NumberOfBytes: r.numberOfBytes })) };
  },
};

export interface Gateway {
  readonly address: string;
  close(): Promise<void>;
}

export interface GatewayOptions {
  readonly log?: Logger;
  /** Told of every request when it is answered (metrics): the operation and the HTTP status. */
  readonly onRequest?: (request: { readonly operation: string | null; readonly status: number; readonly ms: number }) => void;
  /**
   * On a Unix socket: the user ids whose processes may call (the kernel reports the peer's uid).
   * Default: this process's own uid. The socket file is 0600 when only this uid may call, 0666 when
   * others are listed (the uid check decides).
   */
  readonly allowedUids?: readonly number[];
  /** Requests served at once; more are answered with ThrottlingException (the SDK retries it). Default 64. */
  readonly maxConcurrentRequests?: number;
  /** A request whose body is not complete this long after its head is dropped. Default 10 s. */
  readonly bodyDeadlineMs?: number;
  /**
   * With it, GET /attestation?nonce=HEX answers with an attestation document over the nonce (CBOR), for a
   * client of the workload that wants to verify the enclave it talks to.
   */
  readonly attest?: (nonce: Uint8Array) => Promise<Uint8Array>;
}

/**
 * Serves the gateway on a Unix socket (0600, callers checked by uid: the way to keep other processes
 * in the enclave out) or on loopback TCP (any process in the enclave may call). Never on vsock.
 */
export async function startGateway(listen: TransportAddress, client: GatewayKms, options: GatewayOptions = {}): Promise<Gateway> {
  if (listen.kind === 'vsock') throw new InvalidArgumentError('the gateway listens on loopback TCP or a Unix socket, never on vsock');
  const log = options.log ?? silentLogger;
  const maxConcurrent = options.maxConcurrentRequests ?? 64;
  if (!(Number.isSafeInteger(maxConcurrent) && maxConcurrent >= 1)) throw new InvalidArgumentError('gateway.maxConcurrentRequests must be a positive integer');
  const ownUid = process.getuid?.();
  const allowedUids = new Set(options.allowedUids ?? (ownUid === undefined ? [] : [ownUid]));
  const bodyDeadlineMs = options.bodyDeadlineMs ?? 10_000;
  let inFlight = 0;
  const attest = options.attest;
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && attest && new URL(req.url ?? '/', 'http://gateway').pathname === '/attestation') void attestation(req, res, attest, log);
    else void serve(req, res);
  });
  // A slot is taken only once the whole body is in: a client that trickles bytes holds a socket for
  // at most the body deadline, never a slot that real requests wait for.
  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const operation = kmsOperationFromTarget(req.headers['x-amz-target']);
    let late = false;
    const deadline = setTimeout(() => {
      late = true;
      log('warn', 'gateway request refused', { reason: 'body-deadline', deadlineMs: bodyDeadlineMs });
      req.socket.destroy();
    }, bodyDeadlineMs);
    let body: Record<string, unknown>;
    try {
      body = await readKmsRequestBody(req);
    } catch (e) {
      if (!late) writeKmsError(res, toKmsException(e));
      return;
    } finally {
      clearTimeout(deadline);
    }
    if (inFlight >= maxConcurrent) {
      writeKmsError(res, new KmsServiceException('ThrottlingException', 'Rate exceeded: the enclave gateway is at its concurrency limit'));
      log('warn', 'gateway request refused', { reason: 'concurrency-limit', limit: maxConcurrent });
      return;
    }
    inFlight++;
    try {
      await handle(operation, body, res, client, log, options.onRequest);
    } finally {
      inFlight--;
    }
  };
  server.requestTimeout = 30_000;
  if (listen.kind === 'unix') {
    server.on('connection', (socket) => {
      const peer = unixPeerCredentials(socket);
      if (peer === undefined || !allowedUids.has(peer.uid)) {
        log('warn', 'gateway caller refused', { reason: 'peer-uid', uid: peer?.uid ?? null, pid: peer?.pid ?? null });
        socket.destroy();
      }
    });
    // The mode follows allowedUids: 0600 when only this uid may call, else 0666 and the uid check decides.
    await listenUnix(server, listen.path, [...allowedUids].every((uid) => uid === ownUid) ? 0o600 : 0o666);
  } else {
    log('info', 'gateway on loopback TCP: any process in the enclave may call it (a Unix socket restricts callers by uid)', {});
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.port, listen.host, () => resolve());
    });
  }
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

async function handle(
  operation: string | undefined,
  body: Record<string, unknown>,
  res: ServerResponse,
  client: GatewayKms,
  log: Logger,
  onRequest?: GatewayOptions['onRequest'],
): Promise<void> {
  const started = performance.now();
  let status = 200;
  try {
    const handler = operation !== undefined && Object.hasOwn(HANDLERS, operation) ? HANDLERS[operation] : undefined;
    if (!handler) {
      throw new KmsServiceException(
        'UnsupportedOperationException',
        'the enclave gateway serves GenerateDataKey, Decrypt, GenerateDataKeyPair, GenerateRandom and DeriveSharedSecret, ' +
          `not ${operation ?? '(no TrentService target)'}`,
      );
    }
    writeKmsResponse(res, 200, await handler(body, client));
  } catch (e) {
    const error = toKmsException(e);
    status = error.status;
    writeKmsError(res, error);
  }
  // Never the body: it holds plaintext keys.
  log(status === 200 ? 'info' : 'warn', 'gateway request', { operation: operation ?? null, status, ms: Math.round((performance.now() - started) * 100) / 100 });
  onRequest?.({ operation: operation ?? null, status, ms: performance.now() - started });
}

/** KMS's answer passes through by name; our own refusals keep their code in the message. */
function toKmsException(e: unknown): KmsServiceException {
  if (e instanceof KmsServiceException) return e;
  if (e instanceof AttestedKmsError && e.code === 'ERR_KMS_WRONG_KEY') return new KmsServiceException('AccessDeniedException', `${e.code}: ${e.message}`);
  if (e instanceof AttestedKmsError) return new KmsServiceException(e.kmsErrorName ?? 'KMSInternalException', `${e.code}: ${e.message}`);
  if (e instanceof NitroDatakeyError) return new KmsServiceException('KMSInternalException', `${e.code}: ${e.message}`);
  return new KmsServiceException('KMSInternalException', 'internal error in the enclave gateway', 500);
}

/** GET /attestation?nonce=HEX: the NSM's document over the caller's nonce, nothing else in it. */
async function attestation(req: IncomingMessage, res: ServerResponse, attest: (nonce: Uint8Array) => Promise<Uint8Array>, log: Logger): Promise<void> {
  const nonce = nonceParameter(new URL(req.url ?? '/', 'http://gateway').searchParams.get('nonce'));
  if (nonce === undefined) {
    res.writeHead(400, { 'content-type': 'text/plain' }).end('give ?nonce=HEX: 1 to 1024 bytes of hex, fresh for each request\n');
    return;
  }
  try {
    const document = await attest(nonce);
    res.writeHead(200, { 'content-type': 'application/cbor' }).end(document);
    log('info', 'gateway attestation', { nonceBytes: nonce.byteLength });
  } catch (e) {
    log('warn', 'gateway attestation failed', { error: (e as Error).message });
    res.writeHead(503, { 'content-type': 'text/plain' }).end('the NSM could not attest\n');
  }
}
