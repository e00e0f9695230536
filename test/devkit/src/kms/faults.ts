import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KmsServiceException } from '@nitro-datakey/shared';
import { limitHttpServer } from '@nitro-datakey/shared/cli';
import { DevkitError } from '../errors.js';

/**
 * Faults the local KMS injects, to test how a client behaves when KMS misbehaves. Counted faults
 * (`next`) apply to the next N KMS requests and then stop; `rate` applies to each request with that
 * probability. They are checked in this order: reset, serverError, throttle, invalidState; the
 * first that fires decides the request.
 */
export interface FaultConfig {
  /** ThrottlingException (HTTP 400), as KMS answers a caller over its request quota. */
  readonly throttle?: FaultCount;
  /** KMSInternalException (HTTP 500). */
  readonly serverError?: FaultCount;
  /** The connection is destroyed without an answer. */
  readonly reset?: FaultCount;
  /** KMSInvalidStateException (HTTP 400), as for a disabled or pending-deletion key. */
  readonly invalidState?: FaultCount;
  /** Milliseconds added before every answer. */
  readonly latencyMs?: number;
  /**
   * A hostile KMS for attested calls (those with Recipient): `plaintext` adds the plaintext field the
   * operation has without Recipient (Plaintext, PrivateKeyPlaintext, SharedSecret) to the answer;
   * `foreign-recipient` encrypts CiphertextForRecipient to a key that is not the enclave's.
   */
  readonly attested?: 'plaintext' | 'foreign-recipient';
}

export interface FaultCount {
  readonly next?: number;
  readonly rate?: number;
}

export type FaultKind = 'reset' | 'serverError' | 'throttle' | 'invalidState';

const KINDS: readonly FaultKind[] = ['reset', 'serverError', 'throttle', 'invalidState'];
const FIELDS: readonly string[] = [...KINDS, 'latencyMs', 'attested'];
const MAX_LATENCY_MS = 60_000;

/** Checks a fault configuration from JSON; anything unexpected is an ERR_KMS_FAULT_CONFIG error. */
export function parseFaultConfig(value: unknown): FaultConfig {
  const bad = (why: string): never => {
    throw new DevkitError('ERR_KMS_FAULT_CONFIG', `fault configuration: ${why}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) bad('expected a JSON object');
  const o = value as Record<string, unknown>;
  const out: { -readonly [K in keyof FaultConfig]: FaultConfig[K] } = {};
  for (const key of Object.keys(o)) if (!FIELDS.includes(key)) bad(`unknown field "${key}" (use ${FIELDS.join(', ')})`);
  for (const kind of KINDS) {
    const c = o[kind];
    if (c === undefined) continue;
    if (typeof c !== 'object' || c === null || Array.isArray(c)) bad(`${kind} must be an object like {"next": 3} or {"rate": 0.5}`);
    const { next, rate, ...rest } = c as Record<string, unknown>;
    if (Object.keys(rest).length > 0) bad(`${kind} takes only "next" and "rate"`);
    if (next !== undefined && !(Number.isSafeInteger(next) && (next as number) >= 0)) bad(`${kind}.next must be a non-negative integer`);
    if (rate !== undefined && !(typeof rate === 'number' && rate >= 0 && rate <= 1)) bad(`${kind}.rate must be a number from 0 to 1`);
    out[kind] = { ...(next !== undefined ? { next: next as number } : {}), ...(rate !== undefined ? { rate: rate as number } : {}) };
  }
  const latency = o['latencyMs'];
  if (latency !== undefined) {
    if (!(Number.isSafeInteger(latency) && (latency as number) >= 0 && (latency as number) <= MAX_LATENCY_MS))
      bad(`latencyMs must be an integer from 0 to ${MAX_LATENCY_MS}`);
    out.latencyMs = latency as number;
  }
  const attested = o['attested'];
  if (attested !== undefined) {
    if (attested !== 'plaintext' && attested !== 'foreign-recipient') return bad('attested must be "plaintext" or "foreign-recipient"');
    out.attested = attested;
  }
  return out;
}

/** The live fault state of one local KMS; `set` replaces it (counters start again). */
export class FaultInjector {
  #config: FaultConfig = {};
  #remaining = new Map<FaultKind, number>();
  readonly #random: () => number;

  constructor(config: FaultConfig = {}, random: () => number = Math.random) {
    this.#random = random;
    this.set(config);
  }

  set(config: FaultConfig): void {
    this.#config = parseFaultConfig(config);
    this.#remaining = new Map(KINDS.map((k) => [k, this.#config[k]?.next ?? 0]));
  }

  /** The configuration with counted faults showing how many are left. */
  get(): FaultConfig & { readonly remaining: Readonly<Record<FaultKind, number>> } {
    return { ...this.#config, remaining: Object.fromEntries(this.#remaining) as Record<FaultKind, number> };
  }

  get latencyMs(): number {
    return this.#config.latencyMs ?? 0;
  }

  get attested(): FaultConfig['attested'] {
    return this.#config.attested;
  }

  /** The fault this request gets, if any (a counted fault is used up). */
  draw(): FaultKind | undefined {
    for (const kind of KINDS) {
      const left = this.#remaining.get(kind) ?? 0;
      if (left > 0) {
        this.#remaining.set(kind, left - 1);
        return kind;
      }
      const rate = this.#config[kind]?.rate ?? 0;
      if (rate > 0 && this.#random() < rate) return kind;
    }
    return undefined;
  }
}

/** The KMS error a fault kind answers with (reset has none: the connection is dropped). */
export function faultException(kind: Exclude<FaultKind, 'reset'>): KmsServiceException {
  switch (kind) {
    case 'throttle':
      return new KmsServiceException('ThrottlingException', 'Rate exceeded');
    case 'serverError':
      return new KmsServiceException('KMSInternalException', 'An internal error occurred (injected by nitro-kms-local).', 500);
    case 'invalidState':
      return new KmsServiceException('KMSInvalidStateException', 'The key is disabled (injected by nitro-kms-local).');
  }
}

export interface FaultAdmin {
  /** `http://127.0.0.1:PORT/faults`: GET shows the faults, PUT replaces them with a JSON FaultConfig. */
  readonly endpoint: string;
  /** Every request must carry `Authorization: Bearer TOKEN`. */
  readonly token: string;
  close(): Promise<void>;
}

const MAX_ADMIN_BODY = 16 * 1024;

/**
 * The run-time control for faults. It listens on 127.0.0.1 only: it changes how KMS answers, so it is
 * for the person running the tests, never for the network.
 */
export async function startFaultAdmin(faults: FaultInjector, port = 0): Promise<FaultAdmin> {
  // Loopback is shared by every local user: the token (printed in the ready line, never logged) keeps
  // them from changing how KMS answers someone else's tests.
  const token = randomBytes(24).toString('hex');
  const server: Server = createServer((req, res) => void serveAdmin(req, res, faults, token));
  limitHttpServer(server, { maxConnections: 16, requestTimeoutMs: 10_000 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${bound}/faults`,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Whether the request carries `Authorization: Bearer TOKEN`, compared in constant time. */
function authorized(req: IncomingMessage, token: string): boolean {
  const given = Buffer.from(req.headers.authorization ?? '');
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function serveAdmin(req: IncomingMessage, res: ServerResponse, faults: FaultInjector, token: string): Promise<void> {
  const answer = (status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
  };
  if (!authorized(req, token)) {
    return answer(401, { code: 'ERR_KMS_FAULT_ADMIN_TOKEN', message: 'send Authorization: Bearer TOKEN, with the adminToken of the ready line' });
  }
  if (req.url !== '/faults') return answer(404, { code: 'ERR_KMS_FAULT_CONFIG', message: 'the admin endpoint is /faults' });
  if (req.method === 'GET') return answer(200, faults.get());
  if (req.method !== 'PUT' && req.method !== 'POST') return answer(405, { code: 'ERR_KMS_FAULT_CONFIG', message: 'use GET or PUT /faults' });
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_ADMIN_BODY) return answer(413, { code: 'ERR_KMS_FAULT_CONFIG', message: `the body is over ${MAX_ADMIN_BODY} bytes` });
      chunks.push(chunk as Buffer);
    }
  } catch {
    return; // the client went away; nothing changed
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return answer(400, { code: 'ERR_KMS_FAULT_CONFIG', message: 'the body is not JSON' });
  }
  try {
    faults.set(parsed as FaultConfig); // set() validates the whole configuration before anything changes
  } catch (e) {
    if (e instanceof DevkitError) return answer(400, { code: e.code, message: e.message });
    throw e;
  }
  return answer(200, faults.get());
}
