import { generateKeyPairSync, type KeyObject, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import {
  AttestationVerifier,
  AWS_NITRO_ROOT_G1_SHA256,
  InvalidArgumentError,
  kmsError,
  kmsOperationFromTarget,
  KmsServiceException,
  readKmsRequestBody,
  toBase64,
  writeKmsError,
  writeKmsResponse,
} from '@nitro-datakey/shared';
import { type Logger, silentLogger, stopHttpServer } from '@nitro-datakey/shared/cli';
import { buildCiphertextForRecipient } from '@nitro-datakey/shared/testing';
import { type FaultAdmin, startFaultAdmin } from './faults/admin-server.js';
import type { FaultConfig } from './faults/config.js';
import { FaultInjector, faultException } from './faults/injector.js';
import { KeyStore } from './keystore.js';
import { type AuditEvent, auditEvent } from './audit.js';
import { type AuditFacts, OPERATIONS, type OperationContext, PLAINTEXT_FIELD } from './operations/index.js';
import { parsedPolicyDocument } from '@nitro-datakey/shared/policy';
import { type PrincipalEntry, PrincipalDirectory, type PrincipalsOption } from './principals.js';
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
  /**
   * SigV4 access key id -> the caller's ARN, or its ARN with the tags and organization IAM knows of it
   * (aws:PrincipalTag/KEY, aws:PrincipalOrgID, aws:PrincipalOrgPaths). Any other access key id is the
   * account root (see unknownCallers). The roles and users named here and in iamPolicies are the ones that
   * exist: in strict IAM mode a key policy naming another is refused, as AWS refuses it.
   */
  readonly principals?: PrincipalsOption;
  /**
   * Who a caller with an unmapped access key id is: the account root (the default, convenient for
   * tests), or `anonymous`, whom only a `"Principal": "*"` statement admits.
   */
  readonly unknownCallers?: 'root' | 'anonymous';
  /**
   * IAM-style identity policies (JSON text) by principal ARN (a role's reach its sessions), for every
   * operation, decided with the key policy and grants as AWS decides.
   */
  readonly iamPolicies?: Readonly<Record<string, string | readonly string[]>>;
  /**
   * How callers without an identity policy are modelled: `strict` (default) as on AWS, with none, so a
   * key policy naming only the account root gives them nothing; `permissive`, as if their IAM allowed all.
   */
  readonly iamMode?: 'strict' | 'permissive';
  /** Accept only RSA-2048 Recipient keys (default: RSA 2048 to 4096 bits). */
  readonly recipientRsa2048Only?: boolean;
  /** Faults to inject from the start (see FaultConfig); change them later with `LocalKms.faults` or the admin endpoint. */
  readonly faults?: FaultConfig;
  /** Serve the fault admin endpoint on 127.0.0.1 at this port (0: any free port). Omitted: no admin endpoint. */
  readonly adminPort?: number;
  /**
   * The audit trail: one event per request, shaped like CloudTrail's KMS events (eventName, the caller,
   * request parameters without secrets, the key, the error, and for attested calls the document's
   * module id and PCRs and the policy decision). Never key material or the document itself.
   */
  readonly audit?: (event: AuditEvent) => void;
  readonly seed?: SeedFile;
  readonly clock?: () => Date;
  /** How long close() waits for requests in flight before it closes their connections. Default 2000 ms. */
  readonly shutdownGraceMs?: number;
  /** One line per request; never key material. Default: none. */
  readonly log?: Logger;
}

export interface LocalKms {
  readonly endpoint: string;
  readonly region: string;
  readonly account: string;
  readonly caCertPath?: string;
  readonly caCertPem?: string;
  readonly store: KeyStore;
  /** How callers without an identity policy are modelled (LocalKmsOptions.iamMode). */
  readonly iamMode: 'strict' | 'permissive';
  /** The live fault state: `faults.set({...})` changes what the next requests get. */
  readonly faults: FaultInjector;
  /** `http://127.0.0.1:PORT/faults` when adminPort was given. */
  readonly adminEndpoint?: string;
  /** The admin endpoint's bearer token (`Authorization: Bearer TOKEN`). */
  readonly adminToken?: string;
  /**
   * Stops accepting, closes idle keep-alive connections, lets requests in flight finish for
   * shutdownGraceMs, then closes every connection.
   */
  close(): Promise<void>;
}

/** Starts a KMS-compatible server that the unmodified AWS SDK and CLI talk to with an endpoint override. */
export async function startLocalKms(options: LocalKmsOptions = {}): Promise<LocalKms> {
  const region = options.region ?? 'us-east-1';
  const account = options.account ?? '111122223333';
  if (!/^\d{12}$/.test(account)) throw new InvalidArgumentError('account must be 12 digits');
  const clock = options.clock ?? (() => new Date());
  const store = await KeyStore.open(options.dataDir);
  try {
    return await serve(options, store, region, account, clock);
  } catch (e) {
    await store.close(); // a server that never got ready holds no data directory
    throw e;
  }
}

/** Long enough for any answer the local KMS gives; short enough that a stuck client never holds a stop. */
const DEFAULT_SHUTDOWN_GRACE_MS = 2_000;

/** Every IAM policy given at start, checked now: a typo is a refusal to start, not a surprise per request. */
function checkedIamPolicies(given: NonNullable<LocalKmsOptions['iamPolicies']>): Map<string, readonly string[]> {
  const policies = new Map<string, readonly string[]>();
  for (const [arn, texts] of Object.entries(given)) {
    const list = typeof texts === 'string' ? [texts] : [...texts];
    for (const text of list) {
      try {
        parsedPolicyDocument(text, 'iam');
      } catch (e) {
        throw new InvalidArgumentError(`the IAM policy for ${arn} is not valid: ${(e as Error).message}`);
      }
    }
    policies.set(arn, list);
  }
  return policies;
}

/** Listens with timeouts that keep a slow or stalled client from holding a connection; returns the bound port. */
async function listenLimited(server: Server, host: string, port: number): Promise<number> {
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

async function serve(options: LocalKmsOptions, store: KeyStore, region: string, account: string, clock: () => Date): Promise<LocalKms> {
  const faults = new FaultInjector(options.faults ?? {});
  const verifier = new AttestationVerifier({ trustedRootFingerprints: options.trustedRootFingerprints ?? [AWS_NITRO_ROOT_G1_SHA256], clock });
  const principals = principalDirectory(options);
  const unknownCallers = options.unknownCallers ?? 'root';
  const iamPolicies = options.iamPolicies ? checkedIamPolicies(options.iamPolicies) : undefined;
  const log = options.log ?? silentLogger;
  if (options.seed) await applySeed(store, options.seed, { region, account, clock });

  // TLS material lives in the data directory, or in a directory of its own removed at close.
  const tempDir = options.tls && options.dataDir === undefined ? await mkdtemp(join(tmpdir(), 'nitro-kms-local-')) : undefined;
  const tls = options.tls ? await loadOrCreateTls(options.dataDir ?? (tempDir as string), clock()) : undefined;
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    void handle(req, res, {
      store,
      region,
      account,
      verifier,
      clock,
      principals,
      unknownCallers,
      ...(iamPolicies ? { iamPolicies } : {}),
      recipientRsa2048Only: options.recipientRsa2048Only === true,
      iamMode: options.iamMode ?? 'strict',
      faults,
      ...(options.audit ? { audit: options.audit } : {}),
      log,
    });
  };
  const server: Server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, handler) : createHttpServer(handler);
  const host = options.host ?? '127.0.0.1';
  const port = await listenLimited(server, host, options.port ?? 0);
  let admin: FaultAdmin | undefined;
  if (options.adminPort !== undefined) {
    try {
      admin = await startFaultAdmin(faults, options.adminPort);
    } catch (e) {
      await new Promise<void>((resolve) => server.close(() => resolve())); // the caller closes the store
      throw e;
    }
  }
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    endpoint: `${tls ? 'https' : 'http'}://${shownHost}:${port}`,
    region,
    account,
    ...(tls ? { caCertPath: tls.caCertPath, caCertPem: tls.caCertPem } : {}),
    store,
    iamMode: options.iamMode ?? 'strict',
    faults,
    ...(admin ? { adminEndpoint: admin.endpoint, adminToken: admin.token } : {}),
    close: async () => {
      await admin?.close();
      await stopHttpServer(server, options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS);
      if (tempDir) await rm(tempDir, { recursive: true, force: true });
      await store.close();
    },
  };
}

interface ServerState {
  readonly store: KeyStore;
  readonly region: string;
  readonly account: string;
  readonly verifier: AttestationVerifier;
  readonly clock: () => Date;
  readonly principals: PrincipalDirectory;
  readonly unknownCallers: 'root' | 'anonymous';
  readonly iamPolicies?: ReadonlyMap<string, readonly string[]>;
  readonly recipientRsa2048Only: boolean;
  readonly iamMode: 'strict' | 'permissive';
  readonly faults: FaultInjector;
  readonly audit?: (event: AuditEvent) => void;
  readonly log: Logger;
}

async function handle(req: IncomingMessage, res: ServerResponse, state: ServerState): Promise<void> {
  const started = process.hrtime.bigint();
  const requestId = randomUUID();
  const operation = kmsOperationFromTarget(req.headers['x-amz-target']);
  let status = 200;
  let errorType: string | undefined;
  let errorMessage: string | undefined;
  let body: Record<string, unknown> = {};
  const facts: AuditFacts = {};
  let principalArn = ANONYMOUS_PRINCIPAL;
  try {
    const caller = callerOf(req, state);
    principalArn = caller.arn;
    if (req.method !== 'POST') throw new KmsServiceException('UnknownOperationException', `${req.method ?? ''} is not supported; KMS takes POST /`, 405);
    body = await readKmsRequestBody(req);
    const run = operation !== undefined && Object.hasOwn(OPERATIONS, operation) ? OPERATIONS[operation] : undefined;
    if (!run) throw kmsError.unknownOperation();
    const ctx = operationContext(req, state, caller, facts);
    if (state.faults.latencyMs > 0) await sleep(state.faults.latencyMs);
    const fault = state.faults.draw();
    if (fault !== undefined) facts.injectedFault = fault;
    if (fault === 'reset') {
      status = 0;
      errorType = 'InjectedConnectionReset';
      req.socket.destroy();
      return;
    }
    if (fault !== undefined) throw faultException(fault);
    const result = await run(body, ctx);
    writeKmsResponse(res, 200, hostileAnswer(operation, result, body, state.faults, facts), { 'x-amzn-requestid': requestId });
  } catch (e) {
    const error = e instanceof KmsServiceException ? e : kmsError.internal();
    if (!(e instanceof KmsServiceException))
      state.log('error', 'internal error', { operation: operation ?? null, requestId, error: e instanceof Error ? e.message : String(e) });
    status = error.status;
    errorType = error.type;
    errorMessage = error.message;
    writeKmsError(res, error, { 'x-amzn-requestid': requestId });
  } finally {
    state.audit?.(
      auditEvent({
        requestId,
        operation: operation ?? 'Unknown',
        region: state.region,
        account: state.account,
        principalArn,
        body,
        facts,
        errorType,
        errorMessage,
        time: state.clock(),
      }),
    );
    state.log('info', 'request', {
      requestId,
      operation: operation ?? null,
      status,
      ...(errorType ? { error: errorType } : {}),
      ms: Number(process.hrtime.bigint() - started) / 1e6,
    });
  }
}

/** Everything an operation needs about the server and this request's caller and connection. */
function operationContext(req: IncomingMessage, state: ServerState, caller: PrincipalEntry, facts: AuditFacts): OperationContext {
  return {
    store: state.store,
    region: state.region,
    account: state.account,
    verifier: state.verifier,
    clock: state.clock,
    principalArn: caller.arn,
    principalAttributes: caller,
    ...(state.iamMode === 'strict' ? { principalExists: (arn: string) => state.principals.exists(arn) } : {}),
    ...(state.iamPolicies ? { iamPolicies: state.iamPolicies } : {}),
    recipientRsa2048Only: state.recipientRsa2048Only,
    iamMode: state.iamMode,
    audit: facts,
    request: {},
    // What the transport tells about the request, for aws:SourceIp and aws:SecureTransport.
    transport: { sourceIp: req.socket.remoteAddress ?? '', secure: 'encrypted' in req.socket && req.socket.encrypted === true },
  };
}

let foreignRecipientKey: KeyObject | undefined;

/**
 * The injected hostile answers to an attested call: the plaintext beside the ciphertext, in the field
 * the operation would use without Recipient, or a ciphertext for someone else.
 */
function hostileAnswer(
  operation: string | undefined,
  result: Record<string, unknown>,
  body: Record<string, unknown>,
  faults: FaultInjector,
  facts: AuditFacts,
): Record<string, unknown> {
  const mode = faults.attested;
  if (mode === undefined || body['Recipient'] === undefined || typeof result['CiphertextForRecipient'] !== 'string') return result;
  facts.injectedFault = mode; // the audit trail says which answers were not KMS's own
  const secret = new Uint8Array(randomBytes(32));
  if (mode === 'plaintext') {
    const field =
      operation !== undefined && Object.hasOwn(PLAINTEXT_FIELD, operation) ? PLAINTEXT_FIELD[operation as keyof typeof PLAINTEXT_FIELD] : 'Plaintext';
    return { ...result, [field]: toBase64(secret) };
  }
  foreignRecipientKey ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
  return { ...result, CiphertextForRecipient: toBase64(buildCiphertextForRecipient(secret, foreignRecipientKey)) };
}

/** What an unmapped caller is with unknownCallers 'anonymous': it matches only `"Principal": "*"`. */
const ANONYMOUS_PRINCIPAL = 'anonymous';

/**
 * The caller: the SigV4 access key id, mapped by --principal; otherwise root or anonymous. Signatures are not
 * checked, but a request must carry one: AWS answers an unsigned request before it reads the operation.
 */
function callerOf(req: IncomingMessage, state: ServerState): PrincipalEntry {
  const auth = req.headers['authorization'];
  if (auth === undefined || auth === '') throw new KmsServiceException('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const accessKeyId = /Credential=([^/,\s]+)\//.exec(auth)?.[1];
  if (accessKeyId === undefined)
    throw new KmsServiceException(
      'IncompleteSignatureException',
      "Authorization header requires 'Credential' parameter (AWS4-HMAC-SHA256 Credential=KEY/...).",
    );
  return state.principals.caller(accessKeyId) ?? { arn: state.unknownCallers === 'anonymous' ? ANONYMOUS_PRINCIPAL : `arn:aws:iam::${state.account}:root` };
}

function principalDirectory(options: LocalKmsOptions): PrincipalDirectory {
  return new PrincipalDirectory(options.principals ?? {}, Object.keys(options.iamPolicies ?? {}));
}
