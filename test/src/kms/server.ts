import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AttestationVerifier, AWS_NITRO_ROOT_G1_SHA256 } from '@nitro-datakey/shared';
import { kmsError, KmsException } from './errors.js';
import { KeyStore } from './keystore.js';
import { OPERATIONS, type OperationContext } from './operations.js';
import { applySeed, type SeedFile } from './seed.js';
import { loadOrCreateTls } from './tls.js';

export interface LocalKmsOptions {
  readonly host?: string;
  /** 0 (the default) takes any free port. */
  readonly port?: number;
  /** Where keys, aliases and TLS material persist. Omitted: keys live in memory only. */
  readonly dataDir?: string;
  readonly region?: string;
  readonly account?: string;
  /** Roots a Recipient's attestation document may chain to. Default: the AWS Nitro root only. */
  readonly trustedRootFingerprints?: readonly string[];
  /** Serve HTTPS with a locally generated CA (saved under dataDir, or a temporary directory). */
  readonly tls?: boolean;
  /** SigV4 access key id -> caller ARN. Any other access key id is the account root. */
  readonly principals?: Readonly<Record<string, string>>;
  readonly seed?: SeedFile;
  readonly clock?: () => Date;
  /** One JSON object per request; never key material. Default: none. */
  readonly log?: (entry: Record<string, unknown>) => void;
}

export interface LocalKms {
  readonly endpoint: string;
  readonly region: string;
  readonly account: string;
  readonly caCertPath?: string;
  readonly caCertPem?: string;
  readonly store: KeyStore;
  /** Stops accepting, closes idle keep-alive connections, waits for requests in flight. */
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;
const TARGET_PREFIX = 'TrentService.';

/** Starts a KMS-compatible server that the unmodified AWS SDK and CLI talk to with an endpoint override. */
export async function startLocalKms(options: LocalKmsOptions = {}): Promise<LocalKms> {
  const region = options.region ?? 'us-east-1';
  const account = options.account ?? '111122223333';
  if (!/^\d{12}$/.test(account)) throw new Error('account must be 12 digits');
  const clock = options.clock ?? (() => new Date());
  const store = await KeyStore.open(options.dataDir);
  const verifier = new AttestationVerifier({ trustedRootFingerprints: options.trustedRootFingerprints ?? [AWS_NITRO_ROOT_G1_SHA256], clock });
  const principals = options.principals ?? {};
  const log = options.log ?? (() => undefined);
  if (options.seed) await applySeed(store, options.seed, { region, account, clock });

  let tempDir: string | undefined;
  let tls: Awaited<ReturnType<typeof loadOrCreateTls>> | undefined;
  if (options.tls) {
    const dir = options.dataDir ?? (tempDir = await mkdtemp(join(tmpdir(), 'nitro-kms-local-')));
    tls = await loadOrCreateTls(dir, clock());
  }

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    void handle(req, res, { store, region, account, verifier, clock, principals, log });
  };
  const server: Server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, handler) : createHttpServer(handler);
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    endpoint: `${tls ? 'https' : 'http'}://${shownHost}:${port}`,
    region,
    account,
    ...(tls ? { caCertPath: tls.caCertPath, caCertPem: tls.caCertPem } : {}),
    store,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      if (tempDir) await rm(tempDir, { recursive: true, force: true });
    },
  };
}

interface ServerState {
  readonly store: KeyStore;
  readonly region: string;
  readonly account: string;
  readonly verifier: AttestationVerifier;
  readonly clock: () => Date;
  readonly principals: Readonly<Record<string, string>>;
  readonly log: (entry: Record<string, unknown>) => void;
}

async function handle(req: IncomingMessage, res: ServerResponse, state: ServerState): Promise<void> {
  const started = process.hrtime.bigint();
  const requestId = randomUUID();
  const target = String(req.headers['x-amz-target'] ?? '');
  const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : target;
  let status = 200;
  let errorType: string | undefined;
  try {
    if (req.method !== 'POST') throw new KmsException('UnknownOperationException', `${req.method ?? ''} is not supported; KMS takes POST /`, 405);
    const body = await readJsonBody(req);
    const run = Object.hasOwn(OPERATIONS, operation) ? OPERATIONS[operation] : undefined;
    if (!target.startsWith(TARGET_PREFIX) || !run) throw kmsError.unknownOperation();
    const ctx: OperationContext = { store: state.store, region: state.region, account: state.account, verifier: state.verifier, clock: state.clock, principalArn: principalOf(req, state) };
    send(res, 200, await run(body, ctx), requestId);
  } catch (e) {
    const error = e instanceof KmsException ? e : kmsError.internal();
    if (!(e instanceof KmsException)) state.log({ level: 'error', msg: 'internal error', operation, requestId, error: e instanceof Error ? e.message : String(e) });
    status = error.status;
    errorType = error.type;
    send(res, error.status, { __type: error.type, message: error.message }, requestId, error.type);
  } finally {
    state.log({ level: 'info', msg: 'request', requestId, operation, status, ...(errorType ? { error: errorType } : {}), ms: Number(process.hrtime.bigint() - started) / 1e6 });
  }
}

/** Reads at most MAX_BODY_BYTES; a larger body is refused before it is buffered. */
async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) {
    req.resume();
    throw kmsError.serialization(`Request body of ${declared} bytes exceeds ${MAX_BODY_BYTES}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw kmsError.serialization(`Request body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw kmsError.serialization('Start of structure or map found where not expected.');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw kmsError.serialization('The request body must be a JSON object.');
  return body as Record<string, unknown>;
}

/** The caller: the SigV4 access key id, mapped by --principal; otherwise the account root. Signatures are not checked. */
function principalOf(req: IncomingMessage, state: ServerState): string {
  const auth = String(req.headers['authorization'] ?? '');
  const accessKeyId = /Credential=([^/,\s]+)\//.exec(auth)?.[1];
  return (accessKeyId !== undefined && Object.hasOwn(state.principals, accessKeyId) ? state.principals[accessKeyId] : undefined) ?? `arn:aws:iam::${state.account}:root`;
}

function send(res: ServerResponse, status: number, body: unknown, requestId: string, errorType?: string): void {
  if (res.headersSent) return;
  const payload = Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': payload.length,
    'x-amzn-requestid': requestId,
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
  res.end(payload);
}
